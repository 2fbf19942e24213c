"""The public bank statement samples in ``../shared/samples/`` (beside the checkout; a worktree may
sit one level deeper), read in place: never copied into the project."""

from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
SAMPLES = next((folder / "shared" / "samples" for folder in _REPO.parents if (folder / "shared" / "samples").is_dir()),
               _REPO.parent / "shared" / "samples")


def sample(folder: str, name: str) -> bytes:
    """The bytes of ``samples/<folder>/<name>``; a missing file fails the test (never skipped)."""
    return (SAMPLES / folder / name).read_bytes()
