//! The simulator on an ephemeral port, on its own runtime thread, so tests can drive the real
//! binary synchronously while it serves.

use std::net::SocketAddr;

use lightsync::simulator::{self, SimulatorConfig, SimulatorHandle, StoreShape};

/// A running simulator and the runtime it lives on.
pub struct TestSimulator {
    pub handle: SimulatorHandle,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestSimulator {
    pub fn start(config: SimulatorConfig) -> TestSimulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the simulator");
        let address: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let handle = runtime
            .block_on(simulator::spawn(config, address))
            .expect("the simulator binds a free port");
        TestSimulator {
            handle,
            runtime: Some(runtime),
        }
    }

    /// A store of the given size with no rate limit and control endpoints on.
    pub fn with_store(outlets: u32, products: u32, customers: u32, sales: u32) -> TestSimulator {
        TestSimulator::start(SimulatorConfig {
            shape: StoreShape {
                seed: 1,
                outlets,
                products,
                customers,
                sales,
                registers: 1,
            },
            rate_limited: false,
            control: true,
            ..SimulatorConfig::default()
        })
    }

    /// A store of `shape` served `page_cap` records per page, each request delayed by `slow`,
    /// with no rate limit and control endpoints on.
    pub fn paged(shape: StoreShape, page_cap: u32, slow: std::time::Duration) -> TestSimulator {
        TestSimulator::start(SimulatorConfig {
            shape,
            page_cap,
            slow,
            rate_limited: false,
            control: true,
            ..SimulatorConfig::default()
        })
    }

    /// The default store with `sales` sales, served `page_cap` records a page, each page
    /// `delay` late: a run that is still going when the test acts.
    pub fn slow(sales: u32, page_cap: u32, delay: std::time::Duration) -> TestSimulator {
        let shape = StoreShape {
            sales,
            ..StoreShape::default()
        };
        TestSimulator::paged(shape, page_cap, delay)
    }

    /// An OAuth app's store (client id `app-1`): `client_secret` and `refresh_token` get access
    /// tokens that last `access_ttl` (the configured one has expired), no rate limit, control
    /// endpoints on, and webhooks of every type to `webhook_url` if given.
    pub fn oauth_app(
        shape: StoreShape,
        client_secret: &str,
        refresh_token: &str,
        access_ttl: std::time::Duration,
        webhook_url: Option<String>,
    ) -> TestSimulator {
        TestSimulator::start(SimulatorConfig {
            shape,
            rate_limited: false,
            control: true,
            oauth: Some(lightsync::simulator::SimulatedOAuth {
                client_id: "app-1".into(),
                client_secret: client_secret.into(),
                refresh_token: refresh_token.into(),
                access_ttl,
                initial_ttl: std::time::Duration::ZERO,
            }),
            webhook_url,
            ..SimulatorConfig::default()
        })
    }

    pub fn base_url(&self) -> String {
        self.handle.base_url()
    }

    pub fn requests(&self, entity: lightsync::entity::Entity) -> u64 {
        self.handle.stats().requests(entity)
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("runtime alive")
    }
}

impl Drop for TestSimulator {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
