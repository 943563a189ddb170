import Foundation
import Logging
import ServiceLifecycle
import Store
import TongbanConfig
import TongbanCore

/// What the registry knows right now.
public struct DeviceSnapshot: Sendable, Codable, Equatable {
    public var devices: [Device]
    /// Discovery sources that could not answer on the last round.
    public var problems: [DiscoveryProblem]
    public var updatedAt: Date?
}

/// Keeps the list of devices of every class current: polls each discovery source, reports changes as
/// `device.added` / `device.changed` / `device.removed` events and records them in the store.
///
/// A device that disappears (unplugged) stays listed as `unavailable` for the rest of the process, so the
/// clerk sees "disconnected" rather than a device that silently vanished; it returns to its real state when
/// it comes back under the same id.
public actor DeviceRegistry: Service {
    private let discoverers: [any DeviceDiscoverer]
    private let simulate: SimulationMode
    private let disabled: Set<String>
    private let pollInterval: Duration
    private let events: EventBus
    private let store: Store?
    private let logger: Logger
    private var current: [String: Device] = [:]
    /// States reported by the drivers (a reader whose SAM failed, a reader that stopped answering) that
    /// discovery alone cannot see; they replace an "available" from discovery.
    private var reportedStates: [String: DeviceState] = [:]
    /// What discovery saw on the last round, before reported states were laid over it.
    private var discoveredStates: [String: DeviceState] = [:]
    private var problems: [DiscoveryProblem] = []
    private var updatedAt: Date?
    private var firstRound: [CheckedContinuation<Void, Never>] = []

    public init(discoverers: [any DeviceDiscoverer], simulate: SimulationMode, disabled: [String] = [],
                pollInterval: Duration, events: EventBus, store: Store?, logger: Logger) {
        self.discoverers = discoverers
        self.simulate = simulate
        self.disabled = Set(disabled)
        self.pollInterval = pollInterval
        self.events = events
        self.store = store
        self.logger = logger
    }

    /// Polls until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: self.pollInterval)
            }
        }
    }

    /// The devices and discovery problems as of the last round.
    public func snapshot() -> DeviceSnapshot {
        DeviceSnapshot(devices: current.values.sorted { ($0.deviceClass, $0.id) < ($1.deviceClass, $1.id) },
                       problems: problems, updatedAt: updatedAt)
    }

    /// Waits until the first discovery round has finished (the API answers `/v1/devices` only then).
    public func waitForFirstRound() async {
        if updatedAt != nil { return }
        await withCheckedContinuation { firstRound.append($0) }
    }

    /// Runs one discovery round now and returns the result.
    @discardableResult
    public func refresh() async -> DeviceSnapshot {
        let results = await withTaskGroup(of: DiscoveryResult.self) { group in
            for discoverer in discoverers { group.addTask { await discoverer.discover() } }
            var all: [DiscoveryResult] = []
            for await result in group { all.append(result) }
            return all
        }
        var found: [String: Device] = [:]
        for var device in results.flatMap(\.devices) where !disabled.contains(device.id) {
            discoveredStates[device.id] = device.state
            device.state = effectiveState(device.id)
            found[device.id] = device
        }
        switch simulate {
        case .none:
            found = found.filter { $0.value.transport != .simulator }
        case .all:
            found = found.filter { $0.value.transport == .simulator }
        case .missing:
            // A simulator stands in only for a class with no real device.
            let realClasses = Set(found.values.filter { $0.transport != .simulator }.map(\.deviceClass))
            found = found.filter { $0.value.transport != .simulator || !realClasses.contains($0.value.deviceClass) }
        }
        await apply(found)
        problems = results.compactMap(\.problem).sorted { $0.source < $1.source }
        updatedAt = Date()
        for waiter in firstRound { waiter.resume() }
        firstRound.removeAll()
        return snapshot()
    }

    /// A driver's view of its device's state; nil returns it to what discovery sees.
    public func report(_ id: String, state: DeviceState?) async {
        reportedStates[id] = state
        guard var device = current[id], device.state != effectiveState(id) else { return }
        device.state = effectiveState(id)
        current[id] = device
        await events.publish("device.changed", device)
        if let store {
            do { try store.recordDevices([device]) } catch {
                logger.error("could not record devices", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Discovery's state, unless discovery sees the device available and its driver knows better.
    private func effectiveState(_ id: String) -> DeviceState {
        let discovered = discoveredStates[id] ?? .available
        guard discovered.availability == .available, let reported = reportedStates[id] else { return discovered }
        return reported
    }

    private func apply(_ found: [String: Device]) async {
        var changed: [Device] = []
        for (id, device) in found {
            if let previous = current[id] {
                if previous != device {
                    current[id] = device
                    changed.append(device)
                    await events.publish("device.changed", device)
                    logger.info("device changed", metadata: ["device": "\(id)", "state": "\(device.state.availability.rawValue)"])
                }
            } else {
                current[id] = device
                changed.append(device)
                await events.publish("device.added", device)
                logger.info("device added", metadata: ["device": "\(id)", "model": "\(device.model)"])
            }
        }
        for (id, device) in current where found[id] == nil {
            if device.transport == .simulator {
                current[id] = nil
                await events.publish("device.removed", device)
                continue
            }
            guard device.state.availability != .unavailable else { continue }
            var gone = device
            gone.state = DeviceState(.unavailable, message: "设备已断开 \(device.deviceClass.displayName) disconnected",
                                     remedy: "检查设备电源和连接线。Check the device's power and cable.")
            current[id] = gone
            changed.append(gone)
            await events.publish("device.changed", gone)
            logger.warning("device disconnected", metadata: ["device": "\(id)"])
        }
        if let store, !changed.isEmpty {
            do { try store.recordDevices(changed) } catch {
                logger.error("could not record devices", metadata: ["error": "\(error)"])
            }
        }
    }
}
