DROP TABLE lightspeed_sale_payments;
DROP TABLE lightspeed_sale_line_items;
DROP TABLE lightspeed_sales;
DROP TABLE lightspeed_inventory;
DROP TABLE lightspeed_customers;
DROP TABLE lightspeed_products;
DROP TABLE lightspeed_outlets;
