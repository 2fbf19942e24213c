"""``python -m bench.profile FILE [N]``: the top costs in a py-spy profile (``py-spy record -f raw``).

py-spy's raw format is one collapsed stack per line (``frame;frame;frame count``, outermost
first, frames like ``function (path/file.py:line)``). This prints the share of samples spent
in each function itself (self) and under it (inclusive), by function rather than by line, and
with each library's path shortened, so a profile reads as "where does the time go".
"""

import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["path"]
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
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


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    print(summarise(Path(sys.argv[1]).read_text(), top))


if __name__ == "__main__":
    main()
