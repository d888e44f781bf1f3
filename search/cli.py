"""The ``reindex`` command: build or update the index from a folder of exports."""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from search import store
from search.aliases import AliasError
from search.config import Settings
from search.institution_facet import Rules, write_report
from search.reindex import Summary, reindex
from search.ror import RorError

#: How many problems of each kind the summary lists before it only counts them.
SHOWN_PROBLEMS = 20

#: Exit status after Ctrl-C, as shells give a command that SIGINT ended (128 + 2).
INTERRUPTED = 130


@click.command(name="reindex")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (default: $SEARCH_INDEX_DIR or index/).")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of re-reading changed files only.")
@click.option("--wait", is_flag=True, help="Wait for a running reindex of the same index instead of failing.")
@click.option("--meaning/--no-meaning", "with_meaning", default=None,
              help="Compute meaning vectors after the words (default: $SEARCH_MEANING, on).")
@click.option("--institutions-report", "report", type=click.Path(path_type=Path), default=None,
              help="Afterwards, write each institution facet value with the affiliations grouped under it (TSV).")
@click.option("--ror", "ror_dump", type=click.Path(path_type=Path), default=None,
              help="A ROR data dump (v2 JSON, or the release's zip) the institution facet matches "
                   "names against (default: $SEARCH_ROR_DUMP, none).")
def reindex_command(sources: tuple[Path, ...], index_dir: Path | None, full: bool, wait: bool,
                    with_meaning: bool | None, report: Path | None, ror_dump: Path | None) -> None:
    """Index the .xml and .xml.gz exports in SOURCES (files or folders; default: $SEARCH_DATA_DIR or data/).

    Exits 0 when every file was read, 1 when any could not be (or the disk filled
    up), 2 when the index is busy with another reindex, 130 when interrupted (Ctrl-C).
    """
    if ror_dump is not None:
        # The setting, for this run: the facet is derived from the settings (search.facets).
        os.environ["SEARCH_ROR_DUMP"] = str(ror_dump)
    settings = Settings.from_env()
    index_dir = index_dir or settings.index_dir
    paths = list(sources) or [settings.data_dir]
    try:
        Rules.from_settings(settings)  # a bad alias file or dump is reported before any work is done
    except (AliasError, RorError) as error:
        click.echo(f"reindex: {error}", err=True)
        sys.exit(2)
    progress = _Progress()
    _never_lose_interrupts()
    try:
        summary = reindex(paths, index_dir, full=full, wait=wait, on_file=progress.file_done,
                          with_meaning=settings.meaning if with_meaning is None else with_meaning,
                          on_meaning=progress.vectors_done)
    except store.IndexBusy as error:
        click.echo(f"reindex: {error}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        # The one thing that stops a run (with the kill signals): the new generation was
        # discarded, the live index is as it was.
        click.echo("reindex: interrupted; the live index is as it was before this run", err=True)
        sys.exit(INTERRUPTED)
    except store.IndexMissing as error:  # a damaged live generation: say which file, not a traceback
        click.echo(f"reindex: {error}", err=True)
        sys.exit(1)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # What was being written is removed; the live generation is the last complete one.
        click.echo(f"reindex: no space left to write the index in {index_dir} ({error.strerror}); "
                   "its last complete generation stays live, the unfinished one was removed", err=True)
        sys.exit(1)
    finally:
        progress.close()
    click.echo(format_summary(summary, index_dir))
    if report is not None:
        click.echo(f"institutions report: {write_report(index_dir, report)} facet values in {report}")
    sys.exit(0 if summary.ok else 1)


def format_summary(summary: Summary, index_dir: Path) -> str:
    """The report printed at the end of a run, problems first."""
    lines = []
    for label, problems in (("error", summary.errors), ("skipped", summary.skipped)):
        for problem in problems[:SHOWN_PROBLEMS]:
            lines.append(f"{label}: {problem}")
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(f"{label}: ... and {len(problems) - SHOWN_PROBLEMS} more")
    distinct = summary.added + summary.updated + sum(p.duplicate_of is None for p in summary.skipped)
    lines += [
        f"files:    {summary.files_read} read, {summary.files_unchanged} unchanged, "
        f"{summary.files_removed} removed, {len({p.file for p in summary.errors})} with errors",
        f"articles: {summary.added} added, {summary.updated} updated, {summary.deleted} deleted, "
        f"{len(summary.skipped)} skipped ({distinct} distinct read); "
        f"{summary.duplicates} duplicates of articles in other files",
        f"errors:   {len(summary.errors)}",
        f"time:     {summary.elapsed:.1f} s: words {summary.words_seconds:.1f} s"
        + (f" ({summary.articles_read / summary.words_seconds:,.0f} articles/s)"
           if summary.words_seconds and summary.articles_read else "")
        + f", meaning {summary.meaning_seconds:.1f} s ({summary.vectors_computed:,} vectors computed"
        + (f", {summary.vectors_computed / summary.meaning_seconds:,.0f}/s)" if summary.meaning_seconds else ")"),
        f"index:    {index_dir / summary.generation if summary.generation else str(index_dir) + ' (unchanged)'}",
    ]
    return "\n".join(lines)


def _never_lose_interrupts() -> None:
    """Make Ctrl-C stop the run even when it lands in a destructor.

    Python reports a ``KeyboardInterrupt`` raised inside a ``__del__`` as "ignored" and
    carries on: seen in ``regex``'s ``SetBase.__del__`` during the words phase, after
    which the run published its generation and exited 0.  Such an interrupt is raised
    again 10 ms later, from wherever the run then is.
    """
    if not hasattr(signal, "setitimer"):
        return  # not POSIX: Ctrl-C keeps Python's own behaviour
    report = sys.unraisablehook

    def hook(unraisable: "sys.UnraisableHookArgs") -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0.01)
        else:
            report(unraisable)

    def again(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, again)
    sys.unraisablehook = hook


class _Progress:
    """Progress of both phases: bars on a terminal, log lines otherwise (cron, CI, pipes)."""

    def __init__(self) -> None:
        self.articles = 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.bar = tqdm(unit=" files", desc="words", file=sys.stderr, dynamic_ncols=True) if self.tty else None
        self.meaning_bar: tqdm | None = None
        self.files = 0
        self.meaning_first: tuple[float, int] | None = None
        self.logged = 0.0

    def file_done(self, path: str, count: int, files: int) -> None:
        self.articles += count
        self.files += 1
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.articles / elapsed
        if self.bar is not None:
            self.bar.total = files  # tqdm then shows the time left
            self.bar.set_postfix_str(f"{self.articles:,} articles, {rate:,.0f}/s", refresh=False)
            self.bar.update(1)
        else:
            click.echo(f"read {path}: {count} articles ({self.articles:,} in all, {rate:,.0f}/s; "
                       f"file {self.files:,} of {files:,}, {_left(elapsed, self.files, files)} left)", err=True)

    def vectors_done(self, done: int, total: int) -> None:
        if self.tty:
            if self.meaning_bar is None:
                self.meaning_bar = tqdm(total=total, unit=" articles", desc="meaning", file=sys.stderr,
                                        dynamic_ncols=True)
            self.meaning_bar.update(done - self.meaning_bar.n)
            return
        if self.meaning_first is None:
            self.meaning_first = (time.monotonic(), done)  # the pace is measured from the first batch on
        if time.monotonic() - self.logged >= 10 or done == total:
            self.logged = time.monotonic()
            since, first = self.meaning_first
            elapsed, counted = max(self.logged - since, 1e-9), done - first
            pace = f"{counted / elapsed:,.0f} articles/s, {_left(elapsed, counted, total - first)} left" if counted else "starting"
            click.echo(f"meaning: {done:,} of {total:,} vectors ({pace})", err=True)

    def close(self) -> None:
        for bar in (self.bar, self.meaning_bar):
            if bar is not None:
                bar.close()


def _left(elapsed: float, done: int, total: int) -> str:
    """The time still to go at the pace so far, as ``1:05:09`` or ``4:02``."""
    return tqdm.format_interval(elapsed / max(done, 1) * (total - done))


def main() -> None:
    """Console-script entry point."""
    reindex_command()
