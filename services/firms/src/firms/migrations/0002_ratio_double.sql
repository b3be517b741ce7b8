-- numeric(5,4) rounded a ratio such as 0.49995 up to 0.5, which would let a firm just below
-- the specialized threshold pass it. Keep the value as given.
alter table firms alter column mpe_sales_ratio type double precision;
