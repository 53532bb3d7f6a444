"""Presidio's email recognizer asks tldextract for the domain's public suffix; tldextract would
fetch the suffix list from the internet on first use. Here it reads the snapshot it ships with."""

from __future__ import annotations


def no_suffix_list_downloads() -> None:
    import tldextract
    import tldextract.tldextract as module

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    module.TLD_EXTRACTOR = offline
    tldextract.extract = offline  # type: ignore[assignment]
