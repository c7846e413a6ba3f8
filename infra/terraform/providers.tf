provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = "yilian"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
