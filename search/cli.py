"""The ``reindex`` command: build or update the index from a folder of exports."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from search import store
from search.config import Settings
from search.reindex import Summary, reindex

#: How many problems of each kind the summary lists before it only counts them.
SHOWN_PROBLEMS = 20


@click.command(name="reindex")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (default: $SEARCH_INDEX_DIR or index/).")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of re-reading changed files only.")
@click.option("--wait", is_flag=True, help="Wait for a running reindex of the same index instead of failing.")
def reindex_command(sources: tuple[Path, ...], index_dir: Path | None, full: bool, wait: bool) -> None:
    """Index the .xml and .xml.gz exports in SOURCES (files or folders; default: $SEARCH_DATA_DIR or data/).

    Exits 0 when every file was read, 1 when any could not be, 2 when the
    index is busy with another reindex.
    """
    settings = Settings.from_env()
    index_dir = index_dir or settings.index_dir
    paths = list(sources) or [settings.data_dir]
    progress = _Progress()
    try:
        summary = reindex(paths, index_dir, full=full, wait=wait, on_file=progress.file_done)
    except store.IndexBusy as error:
        click.echo(f"reindex: {error}", err=True)
        sys.exit(2)
    finally:
        progress.close()
    click.echo(format_summary(summary, index_dir))
    sys.exit(0 if summary.ok else 1)


def format_summary(summary: Summary, index_dir: Path) -> str:
    """The report printed at the end of a run, problems first."""
    lines = []
    for label, problems in (("error", summary.errors), ("skipped", summary.skipped)):
        for problem in problems[:SHOWN_PROBLEMS]:
            lines.append(f"{label}: {problem}")
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(f"{label}: ... and {len(problems) - SHOWN_PROBLEMS} more")
    distinct = summary.added + summary.updated + len(summary.skipped)
    lines += [
        f"files:    {summary.files_read} read, {summary.files_unchanged} unchanged, "
        f"{summary.files_removed} removed, {len({p.file for p in summary.errors})} with errors",
        f"articles: {summary.added} added, {summary.updated} updated, {summary.deleted} deleted, "
        f"{len(summary.skipped)} skipped ({distinct} distinct read); "
        f"{summary.duplicates} duplicates of articles in other files",
        f"errors:   {len(summary.errors)}",
        f"time:     {summary.elapsed:.1f} s"
        + (f" ({summary.articles_read / summary.elapsed:,.0f} articles/s)" if summary.elapsed and summary.articles_read else ""),
        f"index:    {index_dir / summary.generation if summary.generation else str(index_dir) + ' (unchanged)'}",
    ]
    return "\n".join(lines)


class _Progress:
    """A progress bar on a terminal; a log line per file otherwise (cron, CI, pipes)."""

    def __init__(self) -> None:
        self.articles = 0
        self.started = time.monotonic()
        self.bar = None
        if sys.stderr.isatty():
            self.bar = tqdm(unit=" files", file=sys.stderr, dynamic_ncols=True)

    def file_done(self, path: str, count: int) -> None:
        self.articles += count
        rate = self.articles / max(time.monotonic() - self.started, 1e-9)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.articles:,} articles, {rate:,.0f}/s", refresh=False)
            self.bar.update(1)
        else:
            click.echo(f"read {path}: {count} articles ({self.articles:,} in all, {rate:,.0f}/s)", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main() -> None:
    """Console-script entry point."""
    reindex_command()
