"""The demo company's fixed world: Crema & Co., a retailer of home coffee equipment and coffee.

Products, regions, reps, stores, competitors and the message templates the generator draws from.
"""

from __future__ import annotations

COMPANY = "Crema & Co."

# product_id, name, category, price, tier, keywords, base popularity
PRODUCTS = [
    ("E1", "Aria espresso machine", "espresso machines", 399.0, 1, "aria;aria espresso", 3.0),
    ("E2", "Aria Pro espresso machine", "espresso machines", 699.0, 2, "aria pro;ariapro", 1.8),
    ("E3", "Bellissima dual boiler", "espresso machines", 1299.0, 3, "bellissima;dual boiler", 0.9),
    ("C1", "Pod One capsule machine", "capsule machines", 99.0, 1, "pod one;podone", 1.4),
    ("C2", "Pod Plus capsule machine", "capsule machines", 179.0, 2, "pod plus;podplus", 0.8),
    ("G1", "Mill Basic grinder", "grinders", 89.0, 1, "mill basic;basic grinder", 2.0),
    ("G2", "Mill Pro grinder", "grinders", 249.0, 2, "mill pro;millpro;pro grinder", 0.6),
    ("G3", "Mill Elite grinder", "grinders", 499.0, 3, "mill elite;elite grinder", 0.5),
    ("P1", "Swan gooseneck kettle", "pour-over", 79.0, 1, "swan kettle;gooseneck", 1.0),
    ("P2", "V-Dripper", "pour-over", 29.0, 1, "v-dripper;dripper", 0.5),
    ("P3", "Paper filters (100)", "pour-over", 9.0, 1, "paper filters;filters", 1.5),
    ("P4", "Duo brew scale", "pour-over", 49.0, 2, "duo scale;brew scale", 0.8),
    ("B1", "House Blend beans 1kg", "coffee beans", 24.0, 1, "house blend", 6.0),
    ("B2", "Ethiopia Yirgacheffe 500g", "coffee beans", 19.0, 2, "ethiopia;yirgacheffe", 3.0),
    ("B3", "Espresso Roast 1kg", "coffee beans", 27.0, 2, "espresso roast", 4.0),
    ("B4", "Swiss Water Decaf 500g", "coffee beans", 17.0, 1, "decaf", 1.5),
    ("B5", "Capsule variety pack (50)", "coffee beans", 18.0, 1, "capsules;capsule pack", 2.5),
    ("M1", "Descaler", "maintenance", 12.0, 1, "descaler;descaling", 1.5),
    ("M2", "Cleaning tablets", "maintenance", 10.0, 1, "cleaning tablets", 1.2),
    ("M3", "Burr replacement kit", "maintenance", 39.0, 1, "burr kit;replacement burrs", 0.15),
    ("M4", "Water filter cartridge", "maintenance", 15.0, 1, "water filter", 1.0),
    ("A1", "Milk frother", "accessories", 59.0, 1, "frother;milk frother", 0.35),
    ("A2", "Precision tamper", "accessories", 35.0, 1, "tamper", 0.8),
    ("A3", "Cappuccino cup set", "accessories", 29.0, 1, "cup set;cups", 1.0),
    ("A4", "Knock box", "accessories", 25.0, 1, "knock box", 0.6),
    ("S1", "Extended warranty", "service", 89.0, 1, "warranty;extended warranty", 0.5),
]

REGIONS = ["North", "South", "East", "West", "Central"]
CITIES = {
    "North": ["Hamburg", "Bremen", "Kiel"],
    "South": ["Munich", "Stuttgart", "Nuremberg"],
    "East": ["Berlin", "Leipzig", "Dresden"],
    "West": ["Cologne", "Dusseldorf", "Dortmund"],
    "Central": ["Frankfurt", "Kassel", "Erfurt"],
}
REGION_WEIGHTS = [0.18, 0.24, 0.2, 0.22, 0.16]

# rep_id, name, territory, role
REPS = [
    ("R01", "Anna Becker", "North", "rep"), ("R02", "Jonas Weber", "North", "rep"),
    ("R03", "Lea Hofmann", "South", "rep"), ("R04", "Felix Wagner", "South", "rep"),
    ("R05", "Mia Schulz", "East", "rep"), ("R06", "Paul Koch", "East", "rep"),
    ("R07", "Emma Richter", "West", "rep"), ("R08", "Noah Klein", "West", "rep"),
    ("R09", "Lina Wolf", "Central", "rep"), ("R10", "Ben Schroeder", "Central", "rep"),
    ("R11", "Sophie Neumann", "South", "manager"), ("R12", "Tom Braun", None, "analyst"),
]

# location_id, name, region, city
LOCATIONS = [
    ("L1", "Crema Hamburg", "North", "Hamburg"), ("L2", "Crema Munich", "South", "Munich"),
    ("L3", "Crema Berlin", "East", "Berlin"), ("L4", "Crema Cologne", "West", "Cologne"),
    ("L5", "Crema Frankfurt", "Central", "Frankfurt"), ("L6", "Crema Stuttgart", "South", "Stuttgart"),
]

COMPETITORS = [
    ("K1", "BrewMaster", "brew master;brewmaster.de"),
    ("K2", "Kaffeewelt", "kaffee welt;kaffeewelt24"),
    ("K3", "BeanBox", "bean box;beanbox subscription"),
]

SOURCES = ["referral", "web", "trade_fair", "ad", "partner"]

FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elena", "Finn", "Greta", "Hannah", "Ivan", "Julia", "Karl",
               "Laura", "Max", "Nina", "Oskar", "Paula", "Quentin", "Rosa", "Simon", "Tina", "Uwe", "Vera",
               "Willi", "Xenia", "Yusuf", "Zoe"]
LAST_NAMES = ["Mueller", "Schmidt", "Schneider", "Fischer", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
              "Koch", "Bauer", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krueger"]

INTEREST_TEMPLATES = [
    "Hello, I am thinking about getting the {alias}. Is it in stock and can you deliver next week?",
    "Could you send me a quote for the {alias}? We'd like to upgrade our setup.",
    "My friend recommended the {alias}. How does it compare to what I have?",
    "Do you have any offers on the {alias} at the moment?",
]
COMPETITOR_TEMPLATES = [
    "{competitor} offers the same machine for less, can you match their price?",
    "I saw a better deal at {competitor}, why should I order from you?",
    "We are also talking to {competitor} about a subscription.",
]
COMPLAINT_TEMPLATES = [
    "My {alias} arrived broken and I want a refund.",
    "The {alias} is leaking water after two weeks. Very disappointed.",
    "Delivery was late again and nobody answered my e-mails. This is unacceptable.",
    "I was charged twice for my order, please fix this immediately.",
]
NEUTRAL_TEMPLATES = [
    "Thanks for the quick delivery, all good.",
    "Please update my delivery address to the new one below.",
    "Can you confirm my order number? I lost the e-mail.",
    "What are your opening hours over the holidays?",
]
