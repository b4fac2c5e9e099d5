variable "region" {
  description = "AWS region of the database."
  type        = string
  default     = "eu-central-1"
}

variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "aioa"
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two or more availability zones) for the database."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups of the cluster nodes allowed to reach PostgreSQL."
  type        = list(string)
}

variable "instance_class" {
  description = "Instance size; see docs/deployment.md for sizing."
  type        = string
  default     = "db.r7g.large"
}

variable "allocated_storage_gb" {
  description = "Initial storage; grows automatically up to max_allocated_storage_gb."
  type        = number
  default     = 100
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 1000
}

variable "backup_retention_days" {
  description = "Automated backups and point-in-time recovery window."
  type        = number
  default     = 14
}
