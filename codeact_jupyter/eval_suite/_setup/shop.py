# A small shop's year of orders (generated, seeded).
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
products = pd.DataFrame({
    "product": ["anvil", "bolt", "cable", "drill", "easel", "fan", "glue", "hammer"],
    "category": ["tools", "hardware", "electrical", "tools", "art", "electrical", "art", "tools"],
    "unit_price": [49.5, 0.25, 3.8, 89.0, 35.0, 24.9, 4.5, 15.75],
})
n = 240
orders = pd.DataFrame({
    "order_id": np.arange(1001, 1001 + n),
    "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), unit="D"),
    "customer": rng.choice(["ACME", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"], n),
    "region": rng.choice(["north", "south", "east", "west"], n),
    "product": rng.choice(products["product"].to_numpy(), n),
    "quantity": rng.integers(1, 20, n),
})
customers = pd.DataFrame({
    "customer": ["ACME", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"],
    "segment": ["enterprise", "smb", "smb", "enterprise", "enterprise", "smb"],
    "country": ["US", "DE", "US", "UK", "US", "FR"],
})
print(f"orders: {orders.shape}, products: {products.shape}, customers: {customers.shape}")
