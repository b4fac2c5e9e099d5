# A managed PostgreSQL for aioa's server mode: the accounts/audit store (AIOA_DATABASE_URL), Dagster's storage and
# MLflow's tracking store (one database each, created by the init SQL of deploy/postgres/init.sql), and the
# warehouse with AIOA_WAREHOUSE=postgres. Encrypted at rest, Multi-AZ, point-in-time recovery, no public access;
# the master password is generated and kept by RDS in Secrets Manager.

resource "aws_db_subnet_group" "aioa" {
  name       = "${var.name}-db"
  subnet_ids = var.private_subnet_ids
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL for aioa, reachable from the cluster only"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL from the cluster nodes"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_db_parameter_group" "aioa" {
  name   = "${var.name}-pg17"
  family = "postgres17"

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "aioa" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = "17.6"
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name                     = "aioa"
  username                    = "aioa"
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.aioa.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.aioa.name
  publicly_accessible    = false
  multi_az               = true

  backup_retention_period   = var.backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"

  performance_insights_enabled = true
  auto_minor_version_upgrade   = true
}
