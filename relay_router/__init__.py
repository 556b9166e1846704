"""The J-LIS relay router: one shared global IP for every municipality's IPsec VPN, a virtual
router per municipality with its NAT, and an 802.1Q hand-off to the Government Cloud.
``compile.py`` is its compiler step, ``render.py`` its pure config renderers."""
