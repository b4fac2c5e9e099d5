-- Databases of the services that share the compose PostgreSQL (the accounts/audit store uses `aioa`).
create database dagster owner aioa;
create database mlflow owner aioa;
