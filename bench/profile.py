"""Profiles of the benchmarks' processes: ``BENCH_PROFILE=1`` (``make bench PROFILE=1``).

:class:`Profiler` runs py-spy (``py-spy record -f raw``, 200 samples a second, without pausing
the process) on some processes, with their children, while a figure runs, and writes into
``bench/profiles/`` a flame graph (``NAME.svg``: each process's stacks side by side, labelled
with the process) and the top costs (``NAME.txt``). ``bench.ledger`` and ``bench.payments``
both use it. py-spy is ``BENCH_PYSPY``, else the one beside this Python (requirements.txt
installs it into the virtualenv), else on PATH; it needs ptrace permission (root, or
``kernel.yama.ptrace_scope`` 0).

``python -m bench.profile FILE [N]``: the top costs in a raw profile (``py-spy record -f raw``).
py-spy's raw format is one collapsed stack per line (``frame;frame;frame count``, outermost
first, frames like ``function (path/file.py:line)``). This prints the share of samples spent
in each function itself (self) and under it (inclusive), by function rather than by line, and
with each library's path shortened, so a profile reads as "where does the time go".
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from html import escape
from pathlib import Path

PROFILES = Path(__file__).resolve().parent / "profiles"
ENABLED = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
RATE = 200  # samples a second

_PROCESS = re.compile(r'process \d+:"[^"]*";')
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["path"]
    for marker in ("site-packages/", "/lib/python3", f"{Path(__file__).resolve().parent.parent}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarise(raw: str, top: int = 25) -> str:
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        # The thread/process header py-spy may prepend is a frame like any other here.
        frames = [_name(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        self_samples[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", f"top {top} by self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self_samples.most_common(top)]
    lines += ["", f"top {top} by inclusive time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def pyspy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return os.environ.get("BENCH_PYSPY") or (str(beside) if beside.exists() else shutil.which("py-spy"))


class Profiler:
    """py-spy on processes named by label (each with its children) for ``seconds``; then
    ``NAME.svg`` and ``NAME.txt`` in ``directory``. Attach every process before the figure starts."""

    def __init__(self, name: str, seconds: float, directory: Path = PROFILES) -> None:
        program = pyspy()
        if program is None:
            raise RuntimeError("BENCH_PROFILE: py-spy not found (requirements.txt installs it; or set BENCH_PYSPY)")
        self.program, self.name, self.seconds, self.directory = program, name, seconds, directory
        self.recordings: list[tuple[str, Path, subprocess.Popen[bytes]]] = []

    def attach(self, label: str, pid: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        raw = self.directory / f".{self.name}-{label}-{pid}.raw"
        raw.unlink(missing_ok=True)
        command = [self.program, "record", "--nonblocking", "--subprocesses", "-r", str(RATE), "-f", "raw",
                   "-o", str(raw), "-d", str(max(1, round(self.seconds))), "-p", str(pid)]
        self.recordings.append((label, raw, subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                                              stderr=subprocess.DEVNULL)))

    def finish(self) -> str:
        """Waits for py-spy, writes the flame graph and the summary; returns the summary."""
        stacks: list[str] = []
        for label, raw, process in self.recordings:
            process.wait(timeout=self.seconds + 60)
            if raw.exists():
                # py-spy heads each stack with its process (``process 123:"command"``): dropped, so the
                # stacks of one label's processes (gunicorn's workers, a pool's) add up.
                stacks += [f"{label};{_PROCESS.sub('', line)}" for line in raw.read_text().splitlines()
                           if line.strip()]
                raw.unlink()
        if not stacks:
            return f"no profile for {self.name} (py-spy failed? it needs ptrace permission)"
        collapsed = "\n".join(stacks)
        (self.directory / f"{self.name}.svg").write_text(flame_graph(collapsed, self.name))
        text = summarise(collapsed, 20)
        (self.directory / f"{self.name}.txt").write_text(text + "\n")
        return text


_WIDTH, _ROW = 1800, 17


def flame_graph(raw: str, title: str) -> str:
    """An SVG flame graph of collapsed stacks: the width of a frame is its share of samples, its
    callers below it; hovering a frame shows its name, samples and share."""
    root: dict = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, node = int(count_text), root
        total += count
        for frame in (_name(frame) for frame in stack.split(";") if frame):
            entry = node.setdefault(frame, [0, {}])
            entry[0] += count
            node = entry[1]
    boxes: list[tuple[int, float, float, str, int]] = []

    def place(node: dict, depth: int, x: float) -> int:
        deepest = depth
        for frame, (count, children) in sorted(node.items()):
            width = _WIDTH * count / total
            if width >= 0.3:
                boxes.append((depth, x, width, frame, count))
                deepest = max(deepest, place(children, depth + 1, x))
            x += width
        return deepest

    height = (place(root, 0, 0.0) + 1) * _ROW + 40 if total else 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
             f'font-family="monospace" font-size="11">',
             f'<text x="4" y="16" font-size="14">{escape(title)}: {total} samples at {RATE}/s (py-spy); '
             'hover a frame for its share</text>']
    for depth, x, width, frame, count in boxes:
        y = height - (depth + 1) * _ROW
        hue = int(hashlib.md5(frame.rpartition("(")[2].encode()).hexdigest()[:2], 16) * 40 // 255
        label = escape(frame[: int(width / 6.6)]) if width > 20 else ""
        parts.append(f'<g><title>{escape(frame)}: {count} samples, {100 * count / total:.1f}%</title>'
                     f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_ROW - 1}" '
                     f'fill="hsl({hue + 10},80%,{55 + depth % 3 * 5}%)"/>'
                     f'<text x="{x + 3:.1f}" y="{y + 12}">{label}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    print(summarise(Path(sys.argv[1]).read_text(), top))


if __name__ == "__main__":
    main()
