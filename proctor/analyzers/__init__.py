"""Analyzers, cheap to costly: motion · faces · head pose · body · identity · audio · image quality."""
