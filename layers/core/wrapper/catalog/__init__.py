"""The catalog: plans, prices, features, meters, coupons and tax rates, and the operator's changes to them."""
