"""Customers, users and the small facts about them that questions mention."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST = ("Maria", "James", "Aisha", "Tomasz", "Priya", "Lucas", "Mei", "Daniel", "Fatima", "Oliver", "Sofia", "Kenji",
         "Amara", "Noah", "Elena", "Mateo", "Hannah", "Ravi", "Chloe", "Jonas", "Isabel", "Kwame", "Yuki", "Liam",
         "Zara", "Felix", "Nadia", "Ethan", "Leila", "Arjun")
LAST = ("Gonzalez", "Okafor", "Nowak", "Sharma", "Andersen", "Chen", "Brennan", "Haddad", "Silva", "Tanaka", "Moreau",
        "Kowalski", "Mensah", "Fischer", "Rossi", "Kim", "Walsh", "Patel", "Lindqvist", "Dubois", "Costa", "Ahmed",
        "Schmidt", "Novak", "Reyes", "Ito", "Murphy", "Bauer", "Singh", "Larsen")
COMPANIES = (("Brightleaf Labs", "brightleaf.io"), ("Copperline Analytics", "copperline.co"),
             ("Fernhill Studio", "fernhill.studio"), ("Quayside Health", "quaysidehealth.com"),
             ("Otterbox Games", "otterboxgames.dev"), ("Lumen Legal", "lumenlegal.eu"),
             ("Harbor & Pine", "harborandpine.com"), ("Tessellate AI", "tessellate.ai"),
             ("Kiln Coffee Roasters", "kilncoffee.shop"), ("Meridian Freight", "meridianfreight.net"),
             ("Bluebell Learning", "bluebell-learning.org"), ("Northstar Realty", "northstar-realty.com"),
             ("Vantage Robotics", "vantagerobotics.io"), ("Pebble & Co", "pebbleandco.com"),
             ("Sundial Finance", "sundial.finance"), ("Atlas Outdoor", "atlas-outdoor.com"))
PROJECTS = ("storefront-web", "api-gateway", "billing-worker", "marketing-site", "admin-dashboard", "mobile-bff",
            "docs-site", "image-resizer", "checkout-service", "booking-api", "search-indexer", "customer-portal")
DATABASES = ("prod-main", "orders-db", "analytics-pg", "app-primary", "core-postgres")
REGIONS = ("us-east", "us-west", "eu-west", "eu-central", "ap-southeast")
PLANS = (("Starter", 20), ("Team", 25), ("Business", 60), ("Enterprise", 0))
PHONES = ("+1 415 555 0134", "(212) 555-0187", "+44 20 7946 0321", "+1 (646) 555-0199", "+49 30 1234 5678",
          "+1 312 555 0148", "+33 1 70 18 99 00", "+61 2 5550 1234")
ANALYSTS = ("dana.kim", "marco.rossi", "li.wei", "sam.ortiz", "hana.sato", "joe.bauer")
TEAMS = ("growth", "finance", "support-ops", "product", "sales")


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    company: str
    domain: str
    account_id: str
    plan: str
    seat_price: int
    seats: int
    user_id: str
    phone: str

    @property
    def email(self) -> str:
        return f"{self.first.lower()}.{self.last.lower()}@{self.domain}"

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def monthly(self) -> int:
        return self.seat_price * self.seats if self.plan != "Starter" else self.seat_price


def customers(rng: random.Random, n: int) -> list[Customer]:
    """A fixed population, so the same people come back across sessions and days."""
    out = []
    for _ in range(n):
        company, domain = rng.choice(COMPANIES)
        plan, price = rng.choices(PLANS, weights=(3, 6, 3, 1))[0]
        seats = 1 if plan == "Starter" else rng.choice((3, 5, 8, 12, 20, 35))
        out.append(Customer(rng.choice(FIRST), rng.choice(LAST), company, domain, f"acct_{rng.getrandbits(40):010x}",
                            plan, price, seats, f"u_{rng.getrandbits(32):08x}", rng.choice(PHONES)))
    return out


def day(when: datetime, days_back: int = 0) -> str:
    """'March 3' style, as people write dates."""
    d = when - timedelta(days=days_back)
    return f"{d:%B} {d.day}"


def iso_day(when: datetime, days_back: int = 0) -> str:
    return f"{when - timedelta(days=days_back):%Y-%m-%d}"


def money(x: float) -> str:
    return f"{x:,.2f}"
