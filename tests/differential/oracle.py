"""The independent side of task-domain's differential recurrence test
(crates/task-domain/tests/differential.rs): python-dateutil's RRULE expansion and zoneinfo's
time-zone rules, pinned in tests/differential/requirements.txt.

Reads a JSON list of cases on stdin and writes a JSON list of answers on stdout, one per case:
    case   = {"zone", "rrule", "start" (RFC 3339, UTC), "queries": [RFC 3339, ...]}
    answer = {"rfc": [[number, instant] | null, ...], "plain": [instant | null, ...],
              "start_in_set": bool, "duplicates": bool}
For each query, the first occurrence strictly after it and at most ten years (120 months)
later, as task-domain's `RecurrenceRule::next_numbered_after` defines it.

How the two sides are made to compare the same thing (docs/recurrence.md, "Differential test"):
- dateutil expands a naive DTSTART in naive local time; each local occurrence becomes an
  instant with zoneinfo and fold=0, which is RFC 5545's reading: a time in a spring gap takes
  the offset before the gap (it moves forward by the gap), a repeated autumn time is the first.
- UNTIL is an instant (UTC), which a naive expansion cannot compare with, so it is applied to
  the instants (inclusive).
- "rfc" applies the two readings of RFC 5545 that dateutil does not make, each listed in
  docs/recurrence.md: DTSTART is always the first instance, counted by COUNT, even when the
  rule does not produce it (RFC 5545 3.8.5.3; dateutil counts only what the rule produces);
  and two local times that are the same instant (an hourly rule across a gap) are one
  instance (RFC 5545 3.8.5.3: duplicate instances are ignored).
- "plain" is dateutil's own counting, without those two readings, so that the test can list
  the cases where they make a difference.
"""

import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

UTC = timezone.utc


def parse(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def fmt(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_rule(rrule):
    """The rule without COUNT and UNTIL, and those two."""
    parts, count, until = [], None, None
    for part in rrule.split(";"):
        name, _, value = part.partition("=")
        if name == "COUNT":
            count = int(value)
        elif name == "UNTIL":
            until = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            parts.append(part)
    return ";".join(parts), count, until


def instant(local, zone):
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def answer(case):
    zone = ZoneInfo(case["zone"])
    start = parse(case["start"])
    local_start = start.astimezone(zone).replace(tzinfo=None, fold=0)
    open_rule, count, until = split_rule(case["rrule"])
    queries = [parse(q) for q in case["queries"]]
    latest = max(queries)
    last = latest + relativedelta(months=120)

    # dateutil's own expansion, as naive local times: until the first occurrence after every
    # query (each answer is the first after its query), the last horizon, UNTIL or COUNT.
    generated = []
    for local in rrulestr(open_rule, dtstart=local_start):
        at = instant(local.replace(fold=0), zone)
        if at > last or (until is not None and at > until):
            break
        generated.append((local, at))
        if at > latest or (count is not None and len(generated) > count):
            break  # the RFC reading needs at most one more than COUNT (see below)

    start_in_set = bool(generated) and generated[0][0] == local_start

    # RFC 5545's reading: the start first, duplicates once, then COUNT.
    rfc, previous = [], None
    for at in [start] + [at for local, at in generated if local != local_start]:
        if at == previous:
            continue
        previous = at
        if until is not None and at > until:
            break
        rfc.append((len(rfc) + 1, at))
    if count is not None:
        rfc = rfc[:count]
    duplicates = len({at for _, at in generated}) != len(generated)

    # dateutil's counting: COUNT over what the rule produces, duplicates included.
    plain = [at for _, at in generated][: count if count is not None else None]

    def first_after(seq, query, key):
        horizon = query + relativedelta(months=120)
        for item in seq:
            at = key(item)
            if at > horizon:
                return None
            if at > query:
                return item
        return None

    return {
        "rfc": [
            (lambda hit: None if hit is None else [hit[0], fmt(hit[1])])(first_after(rfc, q, lambda i: i[1]))
            for q in queries
        ],
        "plain": [
            (lambda hit: None if hit is None else fmt(hit))(first_after(plain, q, lambda t: t)) for q in queries
        ],
        "start_in_set": start_in_set,
        "duplicates": duplicates,
    }


def main():
    cases = json.load(sys.stdin)
    json.dump([answer(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
