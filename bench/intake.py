"""Bulk intake benchmark: paste 5,000 URLs, then import a 10,000-row CSV (and import it again).

Prints seconds and rows per second. Targets on a 2-core machine: 5,000 pasted URLs in under 5 s,
10,000 CSV rows in under 20 s.
Run: .venv/bin/python bench/intake.py
"""

import resource
import time

from common import fresh_instance, user_and_case

from reportkit.extensions import db
from reportkit.models import Import
from reportkit.services.intake import guess_mapping, import_rows, paste_urls, read_table


def main() -> None:
    fresh_instance("rk-bench-intake-")
    user, case = user_and_case()
    pasted = "\n".join(
        f"see https://x.com/leader_en/status/{1453347171011694596 + n * 4_194_304_000} now" if n % 2 else
        f"https://t.me/leader_fa/{n}" for n in range(5000))
    started = time.perf_counter()
    job = paste_urls(user, case, pasted)
    seconds = time.perf_counter() - started
    print(f"paste 5,000 URLs: {seconds:.2f} s, {5000 / seconds:.0f} lines/s ({job.created} created)")

    csv_text = "url,text,language,posted_at,clause,rationale,tags\n" + "".join(
        f"https://t.me/leader_fa/{100_000 + n},متن شماره {n},fa,2024-03-{1 + n % 28:02d} 14:{n % 60:02d},"
        f"x/violent_content/violent_threats,Threat,t{n % 7}\n" for n in range(10_000))
    data = csv_text.encode("utf-8-sig")
    for label in ("import 10,000 CSV rows", "re-import the same file"):
        started = time.perf_counter()
        headers, rows = read_table(data)
        job = Import(case_id=case.id, kind="csv", mapping=guess_mapping(headers), created_by_id=user.id)
        db.session.add(job)
        import_rows(user, case, job, headers, rows)
        seconds = time.perf_counter() - started
        print(f"{label}: {seconds:.2f} s, {10_000 / seconds:.0f} rows/s "
              f"({job.created} created, {job.duplicates} duplicates, {job.failed} problems)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
