"""Networks: bridges, addresses, DNS, published ports, isolation."""
