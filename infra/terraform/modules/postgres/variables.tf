variable "name" {
  type = string
}

variable "database_name" {
  type = string
}

variable "engine_version" {
  type    = string
  default = "16.6"
}

variable "instance_class" {
  type = string
}

variable "instances" {
  description = "Writer plus readers; at least two so that a zone can fail."
  type        = number

  validation {
    condition     = var.instances >= 2
    error_message = "Multi-AZ: at least two instances."
  }
}

variable "availability_zones" {
  type = list(string)
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "monitoring_principal" {
  description = "RDS enhanced monitoring's service principal in this partition."
  type        = string
}

variable "partition" {
  type = string
}
