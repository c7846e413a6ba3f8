variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "partition" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "ami_id" {
  type = string
}

variable "subnet_ids" {
  description = "Public subnets."
  type        = list(string)
}

variable "security_group_ids" {
  type = map(string)
}

variable "ec2_principal" {
  type = string
}

variable "live_hosts" {
  type = number
}

variable "live_instance_type" {
  type = string
}

variable "live_processes_per_host" {
  description = "One `yilian live` per vCPU (each is a single asyncio loop)."
  type        = number
  default     = 4
}

variable "live_control_port" {
  type = number
}

variable "live_udp_ports" {
  type = object({ from = number, to = number })
}

variable "turn_hosts" {
  type = number
}

variable "turn_instance_type" {
  type = string
}

variable "turn_relay_ports" {
  type = object({ from = number, to = number })
}

variable "turn_urls" {
  type = list(string)
}

variable "live_secret_arn" {
  type = string
}

variable "turn_secret_arn" {
  type = string
}

variable "secrets_kms_key_arn" {
  type = string
}

variable "ebs_kms_key_arn" {
  type = string
}
