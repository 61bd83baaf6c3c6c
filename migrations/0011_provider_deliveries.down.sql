DROP TABLE provider_deliveries;
