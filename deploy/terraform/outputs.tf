output "endpoint" {
  description = "host:port for AIOA_DATABASE_URL / AIOA_POSTGRES_DSN and the Dagster Helm values."
  value       = aws_db_instance.aioa.endpoint
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the generated master password (sync it into aioa-secrets)."
  value       = aws_db_instance.aioa.master_user_secret[0].secret_arn
}
