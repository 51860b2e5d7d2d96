"""Score a CSV or Parquet file with a trained model.

python -m <package>.predict --model artifacts/model.joblib --input new.csv --output preds.csv
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from .data import DataError, Schema, load_table, prepare_features, summarize
from .decision import apply_threshold
from .modelcard import versions_mismatch

log = logging.getLogger(__name__)


def load_model(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"model file not found: {path} (run training first)")
    bundle = joblib.load(path)
    # A pickled pipeline is only guaranteed under the versions it was saved with.
    for difference in versions_mismatch(bundle.get("versions", {})):
        log.warning("%s: %s; retrain if predictions look wrong", path, difference)
    return bundle


def predict_frame(bundle: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities) for each row, in the input's order.

    The input is checked against the schema saved at training: every feature column present,
    numbers and dates parseable. Any violation is an error that lists the rows (a model fed a
    string where it learned numbers would otherwise score the row as "missing", silently).
    ID columns seen at training are copied into the output, first.
    """
    schema = Schema(**bundle["schema"])
    features, problems, _ = prepare_features(frame, schema)
    if problems:
        head = "" if len(problems) == 1 else f"{len(problems)} cells do not match the model: "
        raise DataError(f"{head}{summarize(problems)} (fix or remove the row)")
    for column, known in bundle.get("categories", {}).items():
        unseen = sorted(set(features[column].dropna()) - set(known))
        if unseen:  # scored like a rare value (the one-hot "infrequent" column), not an error
            shown = ", ".join(map(repr, unseen[:5])) + (" ..." if len(unseen) > 5 else "")
            log.warning("column %r: %d value(s) unseen in training: %s", column, len(unseen), shown)
    pipeline = bundle["pipeline"]
    out = frame[[c for c in schema.id_columns if c in frame.columns]].copy()
    if bundle["task"] == "clustering":  # the cluster id; -1 (HDBSCAN): near no cluster
        out["cluster"] = pipeline.predict(features)
    elif bundle["task"] == "classification":
        classes = bundle["classes"]
        proba = pipeline.predict_proba(features)
        # binary models cut at the threshold chosen in training (metrics.json: threshold)
        predictions = apply_threshold(proba, bundle.get("threshold"))
        out["prediction"] = [classes[int(i)] for i in predictions]
        for index, name in enumerate(classes):
            out[f"proba_{name}"] = proba[:, index]
    else:
        out["prediction"] = pipeline.predict(features)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="artifacts/model.joblib")
    parser.add_argument("--input", required=True, help="CSV or Parquet file to score")
    parser.add_argument("--output", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        result = predict_frame(load_model(args.model), load_table(args.input))
    except DataError as exc:
        parser.exit(2, f"error: {exc}\n")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(args.output, index=False)
    print(f"wrote {len(result)} predictions to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
