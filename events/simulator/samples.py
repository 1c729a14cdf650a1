"""Plausible values for simulated mail: people, subjects, links, clients and SMTP answers.

Domains and IP addresses are the reserved example and documentation ranges, so simulated
traffic can never name a real mailbox or host.
"""

FIRST_NAMES = (
    "ada", "alan", "grace", "linus", "margaret", "ken", "barbara", "edsger", "frances", "dennis",
    "radia", "john", "hedy", "tim", "karen", "donald", "sophie", "guido", "anita", "niklaus",
)  # fmt: skip
LAST_NAMES = (
    "lovelace", "turing", "hopper", "torvalds", "hamilton", "thompson", "liskov", "dijkstra",
    "allen", "ritchie", "perlman", "backus", "lamarr", "berners-lee", "jones", "knuth",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")

SENDERS = ("news@shop.example", "hello@shop.example", "no-reply@shop.example")
SUBJECTS = (
    "Autumn sale: 30% off everything",
    "Your order has shipped",
    "New arrivals this week",
    "Your receipt from Shop Example",
    "Last chance: free delivery ends tonight",
    "Reset your password",
    "We miss you: here is 10% off",
)
TAGS = (("newsletter",), ("order", "shipping"), ("newsletter", "arrivals"), ("receipt",))

CLICK_URLS = (
    "https://shop.example/sale",
    "https://shop.example/sale/shoes?utm_source=email",
    "https://shop.example/orders/track",
    "https://shop.example/new?utm_campaign=arrivals",
    "https://shop.example/account/password",
    "https://shop.example/unsubscribe",
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17425; Pro)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
)
IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")

DELIVERIES = (
    "smtp;250 2.0.0 OK 1732297200 d2e1a72fcca58si7701b3a.123 - gsmtp",
    "smtp;250 2.6.0 Queued mail for delivery",
    "smtp;250 ok dirdel",
    "smtp;250 Requested mail action okay, completed: id=1MWzfv-1tH3Nx0ZbF",
)
HARD_BOUNCES = (
    "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    "smtp;554 5.7.1 Service unavailable; client host blocked using a DNS blocklist",
    "smtp;550 5.2.1 The email account that you tried to reach is disabled.",
)
SOFT_BOUNCES = (
    "smtp;552 5.2.2 The recipient's mailbox is full and can't accept messages now.",
    "smtp;452 4.2.2 Mailbox over quota",
)
DEFERRALS = (
    "451 4.7.1 Greylisted, please try again in 300 seconds",
    "421 4.7.0 Try again later, closing connection.",
    "450 4.2.1 The user you are trying to contact is receiving mail too quickly.",
)
REJECTIONS = (
    "Rejected: the recipient is on the suppression list after an earlier hard bounce",
    "Rejected: the recipient marked earlier mail as spam",
)
