"""The PDF dossier: the checks and the job (job), its options (options), the data snapshot (data), its sections
(sections), the parallel renderer (pipeline) and its page-number overlay (page_numbers). CSV and JSON exports
of entries are services/exports.py.

This package's __init__ imports nothing on purpose: the render workers import `pipeline` from a forkserver
that preloads it, and going through the app's models and extensions would add half a second to each start.
"""
