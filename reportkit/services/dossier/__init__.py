"""Dossier exports: the checks and the job (export), the data snapshot (data), the parallel renderer (pipeline).

This package's __init__ imports nothing on purpose: the render workers import `pipeline` from a forkserver
that preloads it, and going through the app's models and extensions would add half a second to each start.
"""
