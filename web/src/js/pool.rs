//! The thread pool of the threaded build: `initThreadPool(n)` starts `n` Web Workers on this
//! module and its shared memory, and makes them rayon's global pool, the one burn flex's
//! kernels split their work over.
//!
//! The order matters because a pool's threads must be running before rayon's
//! `build_global` returns (it waits until every thread has started), and a Web Worker only
//! starts once the thread that made it gives control back to its event loop. So
//! `pool.js` first starts the Workers, each of which loads the module, says it is ready,
//! then blocks in [`pool_worker`] waiting for its rayon thread; only when all are ready does
//! [`PoolBuilder::build`] hand those threads out. (wasm-bindgen-rayon does the same; this
//! is gantry's own so that the package still imports in Node, where its helper script
//! fails, and with no channel crate: one `Mutex<Receiver>` serves the few Workers.)

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rayon::{ThreadBuilder, ThreadPoolBuilder};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/pool.js")]
extern "C" {
    #[wasm_bindgen(js_name = startWorkers)]
    fn start_workers(
        module: JsValue,
        memory: JsValue,
        main_js: String,
        builder: PoolBuilder,
    ) -> js_sys::Promise;
}

#[wasm_bindgen]
extern "C" {
    /// This module's own URL (`import.meta.url` of gantry_web.js), for the Workers to load.
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static MAIN_JS: String;
}

/// What `pool.js` holds while the Workers start: how many, and the channel their rayon
/// threads come through.
#[wasm_bindgen]
#[doc(hidden)]
pub struct PoolBuilder {
    threads: usize,
    sender: SyncSender<ThreadBuilder>,
    receiver: Box<Mutex<Receiver<ThreadBuilder>>>,
}

#[wasm_bindgen]
impl PoolBuilder {
    #[wasm_bindgen(getter)]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Where the Workers wait for their threads: an address in the shared memory, which
    /// stays valid until `build` has returned (every Worker has taken its thread by then).
    #[wasm_bindgen(getter)]
    pub fn receiver(&self) -> usize {
        &*self.receiver as *const Mutex<Receiver<ThreadBuilder>> as usize
    }

    /// Make the global pool; every Worker is already waiting in [`pool_worker`].
    pub fn build(&self) -> Result<(), JsValue> {
        let sender = self.sender.clone();
        ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .spawn_handler(move |thread| {
                sender
                    .send(thread)
                    .map_err(|_| std::io::Error::other("a pool Worker has gone"))
            })
            .build_global()
            .map_err(|e| super::js_error(format!("the thread pool: {e}")))
    }
}

/// `initThreadPool(n)`: start `n` Web Workers as the pool (see the module's comment).
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(threads: usize) -> Result<js_sys::Promise, JsValue> {
    if threads == 0 {
        return Err(super::js_error("initThreadPool: at least one thread"));
    }
    let (sender, receiver) = sync_channel(threads);
    let builder = PoolBuilder {
        threads,
        sender,
        receiver: Box::new(Mutex::new(receiver)),
    };
    Ok(start_workers(
        wasm_bindgen::module(),
        wasm_bindgen::memory(),
        MAIN_JS.with(Clone::clone),
        builder,
    ))
}

/// Run by each pool Worker once loaded: wait for its rayon thread, then run it for good.
#[wasm_bindgen(js_name = gantryPoolWorker)]
#[doc(hidden)]
pub fn pool_worker(receiver: usize) -> Result<(), JsValue> {
    // SAFETY: `receiver` is `PoolBuilder::receiver`, alive until `build` has handed every
    // Worker its thread, which is after this call has taken one.
    let receiver = unsafe { &*(receiver as *const Mutex<Receiver<ThreadBuilder>>) };
    let thread = receiver
        .lock()
        .map_err(|_| super::js_error("the thread pool's channel"))?
        .recv()
        .map_err(|_| super::js_error("the thread pool was dropped before it started"))?;
    thread.run();
    Ok(())
}
