DROP TABLE effects; DROP TABLE orders;
