"""One line that says where and how loaded a benchmark ran: every benchmark prints it with its figures."""
from __future__ import annotations

import os
import platform


def machine_line(threads: int | None = None) -> str:
    """CPU, core count, the thread count used (torch's when not given) and the 1/5/15-min load averages."""
    if threads is None:
        try:
            import torch

            threads = torch.get_num_threads()
        except ImportError:
            threads = None
    one, five, fifteen = os.getloadavg()
    used = f", {threads} threads" if threads else ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{used}, "
            f"load average {one:.2f} {five:.2f} {fifteen:.2f}")
