"""Publishing: the output folder swapped in as a whole, the media (PyAV), the lesson folder and its page,
the explorer site, and the live-lecture deck.

    render_lesson(trace, opts, out)   # `kdanim render`: chapters -> lesson folder with its page
    render_site(traces, opts, site)   # `kdanim publish`: a lesson per (τ, α) and the explorer page
    build_deck(trace, opts, out)      # `kdanim slides` (kdanim.publish.slides, the `slides` extra)
"""

from .folder import MANIFEST, OutputError, PublishError, check_out_dir, publish, published_files, recover, staging_for
from .lesson import parameters, render_lesson, versions
from .media import FORMATS, MediaError
from .page import PageError, write_explorer, write_page
from .site import render_site, simulated_traces

__all__ = ["MANIFEST", "OutputError", "check_out_dir", "PublishError", "publish", "published_files", "recover", "staging_for", "render_lesson",
           "parameters", "versions", "FORMATS", "MediaError", "PageError", "write_explorer", "write_page",
           "render_site", "simulated_traces"]
