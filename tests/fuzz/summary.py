"""Prints, from schemathesis' NDJSON report, one row per operation: cases, 2xx, 4xx, 5xx, the
2xx share, then for the cases generated as valid ("positive"; the others are negative cases,
which must be refused) their number, their 2xx share and their 4xx statuses, which show what
kept them from the handlers. Run by run-schemathesis.sh with the venv's python.

Usage: summary.py REPORT.ndjson
"""

import collections
import json
import sys


def main(path):
    counts = collections.defaultdict(collections.Counter)
    rejected = collections.defaultdict(collections.Counter)
    with open(path, encoding="utf-8") as report:
        for line in report:
            finished = json.loads(line).get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            for case_id, interaction in recorder.get("interactions", {}).items():
                response = interaction.get("response")
                if not response:
                    continue
                case = recorder["cases"][case_id]["value"]
                operation = f"{case['method']} {case['path']}"
                status = response["status_code"]
                row = counts[operation]
                row["cases"] += 1
                row[f"{status // 100}xx"] += 1
                positive = case["meta"]["generation"]["mode"] == "positive"
                if positive:
                    row["positive"] += 1
                    row["positive 2xx"] += status // 100 == 2
                    if status // 100 == 4:
                        rejected[operation][status] += 1
    # Operations the document has (405s for undocumented methods are one case each).
    rows = sorted((op, row) for op, row in counts.items() if row["cases"] > 1 or row["2xx"])
    header = (
        f"{'operation':<32} {'cases':>6} {'2xx':>5} {'4xx':>5} {'5xx':>5} {'2xx share':>9} "
        f"{'valid':>6} {'2xx share':>9}  4xx of valid cases"
    )
    print(header)
    print("-" * len(header))
    total = collections.Counter()
    for operation, row in rows:
        total.update(row)
        share = row["2xx"] / row["cases"] if row["cases"] else 0
        valid_share = row["positive 2xx"] / row["positive"] if row["positive"] else 0
        why = " ".join(f"{status}:{n}" for status, n in sorted(rejected[operation].items()))
        print(
            f"{operation:<32} {row['cases']:>6} {row['2xx']:>5} {row['4xx']:>5} {row['5xx']:>5} {share:>9.0%} "
            f"{row['positive']:>6} {valid_share:>9.0%}  {why}"
        )
    share = total["2xx"] / total["cases"] if total["cases"] else 0
    valid_share = total["positive 2xx"] / total["positive"] if total["positive"] else 0
    print(
        f"{'all':<32} {total['cases']:>6} {total['2xx']:>5} {total['4xx']:>5} {total['5xx']:>5} {share:>9.0%} "
        f"{total['positive']:>6} {valid_share:>9.0%}"
    )


if __name__ == "__main__":
    main(sys.argv[1])
