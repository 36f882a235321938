use service_runtime::skeleton::Skeleton;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Skeleton::main(notification::SERVICE, notification::DEFAULTS).await
}
