"""Fill a case with 10,000 entries and measure entry creation and the case page.

Prints: entry-creation rate (entries/s through the same service the pages use), and the median response
time of the case page (first page, a text search, a clause filter, a deep page), plus peak RSS.
Run: .venv/bin/python bench/case_page.py [N]
"""

import resource
import statistics
import sys
import time

from common import PASSWORD, fresh_instance, user_and_case

from reportkit.extensions import db
from reportkit.services.entries import CaseEntries, attach_violation, new_entry

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
CLAUSES = ["x/violent_content/violent_threats", "x/violent_content/incitement_of_violence",
           "x/hateful_conduct/dehumanization"]


def main() -> None:
    app, _ = fresh_instance("rk-bench-")
    user, case = user_and_case()
    started = time.perf_counter()
    known = CaseEntries(case.id)  # entries are added without events here: the page's speed is measured
    for n in range(N):
        url = (f"https://x.com/leader_en/status/{1453347171011694596 + n * 4_194_304_000}" if n % 2 else
               f"https://t.me/leader_fa/{n}")
        entry = new_entry(user, case, url, {"text": f"متن شماره {n} about the campaign", "language": "fa",
                                            "translation": f"Text number {n}", "tags": [f"t{n % 7}"]}, [], known)
        if n % 3 == 0:
            attach_violation(user, entry, CLAUSES[(n // 3) % 3], "Rationale text.")
        if n % 500 == 499:
            db.session.commit()
    db.session.commit()
    create_seconds = time.perf_counter() - started
    case_id = case.id
    client = app.test_client()
    client.post("/auth/login", data={"email": "bench@example.org", "password": PASSWORD})
    print(f"entries: {N}")
    print(f"entry creation: {create_seconds:.1f} s, {N / create_seconds:.0f} entries/s")
    for label, query in [("first page", ""), ("text search", "?q=1234"), ("clause filter",
                         "?clause=x/violent_content/violent_threats"), ("deep page", f"?page={N // 100}"),
                         ("sorted by post time", "?sort=posted_desc")]:
        times = []
        for _ in range(9):
            t0 = time.perf_counter()
            resp = client.get(f"/cases/{case_id}{query}")
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 200
        print(f"case page, {label:<20} median {1000 * statistics.median(times):6.1f} ms")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
