"""Development tools beside the product: the bundled Desk.com API v2 simulator
(``devtools.simulator``), the callback inbox (``devtools.inbox``) and the one-command demo
(``devtools.demo``). Installed as apps only when ``TRIBUTARY_DEV_TOOLS`` is on; the product
(``integrations``, ``events``) never imports them."""
