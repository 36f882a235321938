use service_runtime::skeleton::Skeleton;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Skeleton::main(recurring_task::SERVICE, recurring_task::DEFAULTS).await
}
