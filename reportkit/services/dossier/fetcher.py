"""The only way the PDF renderer may load anything: our own stored files, by hash.

WeasyPrint's default fetcher reads local files, internal addresses and data: URLs; a post's text or a
file name must never be able to pull /etc/passwd or an intranet page into a dossier.
"""

from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..storage import as_store

SCHEME = "evidence:"


class EvidenceFetcher(URLFetcher):
    def __init__(self, store):  # storage.app_store(): the local store or an S3 bucket
        super().__init__(allowed_protocols=["evidence"], allow_redirects=False, timeout=1)
        self.store = as_store(store)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if not url.startswith(SCHEME):
            raise ValueError(f"the dossier renderer loads only stored evidence, not {url[:80]!r}")
        body = self.store.read_bytes(url[len(SCHEME):])  # refuses anything but a SHA-256
        return URLFetcherResponse(url, body=body, headers={"Content-Type": "image/jpeg"})
