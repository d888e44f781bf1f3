"""Score :func:`search.institutions.extract` against hand-labelled affiliations.

Usage::

    .venv/bin/python scripts/eval_institutions.py [--data PATH] [--show-errors]

Each line of the data file is ``{"i", "affiliation", "institutions": [{"name",
"accept"}]}``.  Scores are micro precision, recall and F1 over (string,
institution) pairs; a prediction is right when its :func:`comparable` form equals
that of the name or an accepted form of a not yet matched labelled institution.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from search.institutions import extract, score  # noqa: E402

DEFAULT_DATA = (REPO_ROOT / "../shared/corpora/institutions/dev.jsonl").resolve()


def load(path: Path) -> list[dict]:
    """The records of a JSON-lines file, skipping blank lines."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(records: list[dict], show_errors: bool = False) -> dict[str, float]:
    """Micro P/R/F1 and counts of ``extract`` on ``records``; print mistakes if asked."""
    totals = {"tp": 0, "fp": 0, "fn": 0, "exact": 0}
    for record in records:
        predicted = extract(record["affiliation"])
        tp, fp, fn = score(predicted, record["institutions"])
        totals["tp"] += tp
        totals["fp"] += fp
        totals["fn"] += fn
        totals["exact"] += not (fp or fn)
        if show_errors and (fp or fn):
            print(f"#{record.get('i')}: {record['affiliation']}")
            print(f"    predicted: {predicted}")
            print(f"    labelled:  {[inst['name'] for inst in record['institutions']]}")
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, **totals, "records": len(records)}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Score search.institutions.extract against hand-labelled affiliations.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON-lines file")
    parser.add_argument("--show-errors", action="store_true", help="print every wrong string")
    args = parser.parse_args(argv)
    result = evaluate(load(args.data), args.show_errors)
    print(f"P={result['precision']:.3f} R={result['recall']:.3f} F1={result['f1']:.3f}  "
          f"tp={result['tp']} fp={result['fp']} fn={result['fn']}  "
          f"exact={result['exact']}/{result['records']} strings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
