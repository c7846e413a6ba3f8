variable "region" {
  description = "AWS region. In China: cn-north-1 (Beijing) or cn-northwest-1 (Ningxia); patient data stays in the region."
  type        = string
  default     = "cn-northwest-1"
}

variable "environment" {
  description = "Short name of this deployment (prod, staging); prefixes every resource name."
  type        = string
  default     = "prod"
}

variable "availability_zones" {
  description = "At least two zones of the region: the database, the search domain and every service spread over them."
  type        = list(string)
  default     = ["cn-northwest-1a", "cn-northwest-1b", "cn-northwest-1c"]

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "A production region needs at least two availability zones."
  }
}

variable "vpc_cidr" {
  description = "The VPC's range; split into public, application and data subnets per zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "domain_name" {
  description = "The public host name of the web app and API (an ICP-filed domain in China)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM (or IAM, in aws-cn) certificate for domain_name, served by the ALB."
  type        = string
}

variable "images" {
  description = "Container images (a registry in the same region: Docker Hub is not reachable from China)."
  type = object({
    yilian   = string
    temporal = string
  })
}

variable "host_ami_id" {
  description = "AMI for the live media and coturn hosts (Debian or Amazon Linux with yilian and coturn installed)."
  type        = string
}

variable "retention_years" {
  description = "Object Lock COMPLIANCE default retention of every image, in years: the floor of all retention policies (the alliance's cloud promise is 15; longer per-encounter retention is set per object)."
  type        = number
  default     = 15

  validation {
    condition     = var.retention_years >= 15
    error_message = "Medical images are kept at least 15 years (the alliance's cloud-storage promise)."
  }
}

variable "temporal" {
  description = <<-EOT
    How workflows run. mode = "self_hosted": a Temporal service on its own Aurora PostgreSQL cluster (the only
    choice in aws-cn). mode = "cloud": Temporal Cloud at cloud_address (mTLS; certificate in Secrets Manager).
    history_shards is fixed when the cluster is created and can never change: see docs/deploy.md.
  EOT
  type = object({
    mode           = string
    history_shards = optional(number, 512)
    cloud_address  = optional(string, "")
    namespace      = optional(string, "yilian")
  })
  default = { mode = "self_hosted" }

  validation {
    condition     = contains(["self_hosted", "cloud"], var.temporal.mode)
    error_message = "temporal.mode is self_hosted or cloud."
  }

  validation {
    condition     = var.temporal.mode == "cloud" ? var.temporal.cloud_address != "" : true
    error_message = "temporal.cloud_address is required with mode = cloud."
  }
}

variable "sizing" {
  description = "Counts and sizes; the defaults are the province profile of docs/deploy.md."
  type = object({
    api_replicas         = optional(number, 3)
    worker_replicas      = optional(number, 3)
    live_hosts           = optional(number, 2)
    live_instance_type   = optional(string, "c6i.xlarge")
    turn_hosts           = optional(number, 2)
    turn_instance_type   = optional(string, "c6i.large")
    db_instance_class    = optional(string, "db.r6g.xlarge")
    db_instances         = optional(number, 2)
    temporal_db_class    = optional(string, "db.r6g.large")
    search_instance_type = optional(string, "r6g.large.search")
    search_data_nodes    = optional(number, 3)
    search_volume_gib    = optional(number, 200)
  })
  default = {}

  validation {
    condition     = var.sizing.db_instances >= 2 && var.sizing.search_data_nodes >= 2
    error_message = "The database and the search domain run at least two nodes, in different zones."
  }
}

variable "sla_alarm_email" {
  description = "Where the coordinators' on-call receives the alarms (subscribed to the SNS topic); empty: none."
  type        = string
  default     = ""
}
