# The shop's and the travel desk's helper functions (plain Python, deterministic).
import datetime as _dt

_PRICES_USD = {"anvil": 49.5, "bolt": 0.25, "cable": 3.8, "drill": 89.0, "easel": 35.0,
               "fan": 24.9, "glue": 4.5, "hammer": 15.75}
_WEIGHTS_KG = {"anvil": 12.0, "bolt": 0.01, "cable": 0.4, "drill": 1.8, "easel": 3.5,
               "fan": 2.2, "glue": 0.15, "hammer": 0.9}
_STOCK = {"anvil": 4, "bolt": 5000, "cable": 60, "drill": 7, "easel": 0, "fan": 12,
          "glue": 150, "hammer": 25}
_USD_PER = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CHF": 1.12}
_CITIES = {"Paris": (48.8566, 2.3522), "Berlin": (52.52, 13.405), "Rome": (41.9028, 12.4964),
           "Madrid": (40.4168, -3.7038), "Lisbon": (38.7223, -9.1393), "Oslo": (59.9139, 10.7522),
           "Vienna": (48.2082, 16.3738), "Prague": (50.0755, 14.4378)}
_HOLIDAYS = {"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-01", "2024-05-09", "2024-05-20",
             "2024-12-25", "2024-12-26", "2025-01-01"}
_SHIPPING = {"US": (5.0, 1.2), "DE": (9.0, 2.5), "FR": (9.0, 2.7), "UK": (11.0, 3.0), "JP": (15.0, 4.0)}


def get_price(item):
    """Unit price of a catalogue item in US dollars, e.g. get_price("drill") -> 89.0.
    Raises KeyError for an item not in the catalogue."""
    return _PRICES_USD[item]


def item_weight(item):
    """Weight of one unit of a catalogue item in kilograms, e.g. item_weight("anvil") -> 12.0."""
    return _WEIGHTS_KG[item]


def stock(item):
    """Units of a catalogue item in stock now, e.g. stock("fan") -> 12."""
    return _STOCK[item]


def exchange_rate(from_currency, to_currency):
    """How many units of to_currency one unit of from_currency buys (USD, EUR, GBP, JPY, CHF),
    e.g. exchange_rate("USD", "EUR") -> 0.9259..."""
    return _USD_PER[from_currency] / _USD_PER[to_currency]


def convert(value, from_unit, to_unit):
    """Convert a quantity between units: length km/mi/m/ft, mass kg/lb, volume l/gal,
    temperature c/f. E.g. convert(10, "km", "mi") -> 6.2137..."""
    factors = {"km": ("length", 1000.0), "mi": ("length", 1609.344), "m": ("length", 1.0),
               "ft": ("length", 0.3048), "kg": ("mass", 1.0), "lb": ("mass", 0.45359237),
               "l": ("volume", 1.0), "gal": ("volume", 3.785411784)}
    if {from_unit, to_unit} <= {"c", "f"}:
        if from_unit == to_unit:
            return value
        return value * 9 / 5 + 32 if from_unit == "c" else (value - 32) * 5 / 9
    (kind_a, a), (kind_b, b) = factors[from_unit], factors[to_unit]
    if kind_a != kind_b:
        raise ValueError(f"cannot convert {kind_a} to {kind_b}")
    return value * a / b


def distance_km(city_a, city_b):
    """Great-circle distance between two cities in kilometres, rounded to 0.1 km. Cities:
    Paris, Berlin, Rome, Madrid, Lisbon, Oslo, Vienna, Prague."""
    import math
    (la1, lo1), (la2, lo2) = _CITIES[city_a], _CITIES[city_b]
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return round(6371.0 * math.acos(min(1.0, max(-1.0, c))), 1)


def weekday(date):
    """Day of the week of an ISO date, e.g. weekday("2024-03-15") -> "Friday"."""
    return _dt.date.fromisoformat(date).strftime("%A")


def add_days(date, days):
    """The ISO date `days` days after `date` (negative: before), e.g.
    add_days("2024-02-28", 2) -> "2024-03-01"."""
    return (_dt.date.fromisoformat(date) + _dt.timedelta(days=days)).isoformat()


def is_holiday(date):
    """True when the ISO date is a public holiday at the office."""
    return date in _HOLIDAYS


def flight_price(origin, destination, date):
    """Price in US dollars of the cheapest economy seat from origin to destination on the
    ISO date (cities as for distance_km)."""
    d = _dt.date.fromisoformat(date)
    base = 40 + 0.11 * distance_km(origin, destination)
    weekend = 1.25 if d.weekday() >= 4 else 1.0
    wiggle = ((d.toordinal() * 37 + len(origin) * 11 + len(destination) * 7) % 23) - 11
    return round(base * weekend + wiggle, 2)


def shipping_cost(weight_kg, country):
    """Shipping cost in US dollars of one parcel of weight_kg to a country (US, DE, FR, UK,
    JP): a fixed fee plus a price per kilogram."""
    fee, per_kg = _SHIPPING[country]
    return round(fee + per_kg * weight_kg, 2)


def forecast_c(city, date):
    """Forecast midday temperature in degrees Celsius for a city on an ISO date."""
    d = _dt.date.fromisoformat(date)
    lat = _CITIES[city][0]
    return round(30 - 0.45 * lat + ((d.toordinal() * 13 + len(city) * 5) % 9) - 4, 1)
