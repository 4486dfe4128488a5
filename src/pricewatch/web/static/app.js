// pricewatch page scripts
