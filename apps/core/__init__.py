"""The shared kernel: money, ids, request context, errors and the API plumbing.

It imports no other fincore app, so every app may build on it.
"""
