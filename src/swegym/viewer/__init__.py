"""`swegym view`: a local, read-only web viewer over rollout run stores.

``index`` opens the runs read-only and answers paged, filtered, sorted queries in SQL; ``query``
turns a URL's query string into a typed `EpisodeQuery`; ``details`` reads one episode whole;
``overview`` builds the runs overview from `swegym.metrics`; ``server`` serves JSON and the static
page (``static/``) with a strict Content-Security-Policy. The page renders every string that comes
from a trajectory as text (DOM APIs, never HTML), so an agent's output cannot run in the browser.
"""
