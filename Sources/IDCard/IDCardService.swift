import Foundation
import Logging
import SAMProtocol
import ServiceLifecycle
import Store
import TongbanCore

/// One reader the service drives.
public struct ReaderSpec: Sendable {
    /// The registry's id for it (`serial:/dev/ttyUSB0`, `sim:idcard`).
    public var deviceID: String
    public var open: SAMTransportOpener

    public init(deviceID: String, open: @escaping SAMTransportOpener) {
        self.deviceID = deviceID
        self.open = open
    }
}

/// What is kept (sealed) for each read: the record plus the untouched WLT photo bytes.
struct StoredIdentity: Codable {
    var record: IdentityRecord
    var device: String
    var readAt: Date
    /// The 1024 WLT bytes, base64; decoded only by a vendor library.
    var photoWLT: String
    /// Fingerprint data, base64, only when `devices.idcard.readFingerprint` is on.
    var fingerprint: String?
}

/// `idcard.read` event payload: the record masked, and the id to fetch it unmasked with.
public struct IdentityReadEvent: Codable, Sendable {
    public var device: String
    public var recordId: String
    public var onDemand: Bool
    public var record: IdentityRecord
}

/// Drives every configured ID-card reader and turns what they read into durable, masked events.
///
/// Each reader's events are handled in order; a record is sealed into the vault (fsync'd) before its
/// `idcard.read` event is published. Reader trouble is reported as device state through `reportState`
/// (the registry) and as `idcard.error` events.
public actor IDCardService: Service {
    private let attachments: AsyncStream<ReaderSpec>
    private let attachmentContinuation: AsyncStream<ReaderSpec>.Continuation
    private let attachedIDs = LockedIDSet()
    private let timing: ReaderTiming
    private let photoDecoder: Result<VendorPhotoDecoder, PhotoDecoderError>?
    private let readFingerprint: Bool
    private let events: EventBus
    private let vault: IdentityVault
    private let retention: Duration
    private let reportState: @Sendable (String, DeviceState?) async -> Void
    private let logger: Logger
    private var drivers: [String: ReaderDriver] = [:]

    /// - Parameter photoDecoder: the vendor library that decodes card photos, or why there is none (the records say so).
    public init(readers: [ReaderSpec], timing: ReaderTiming = ReaderTiming(), readFingerprint: Bool = false,
                photoDecoder: Result<VendorPhotoDecoder, PhotoDecoderError>? = nil,
                events: EventBus, vault: IdentityVault,
                identityRetentionDays: Int, logger: Logger,
                reportState: @escaping @Sendable (String, DeviceState?) async -> Void) {
        (attachments, attachmentContinuation) = AsyncStream.makeStream(of: ReaderSpec.self, bufferingPolicy: .unbounded)
        self.timing = timing
        self.photoDecoder = photoDecoder
        self.readFingerprint = readFingerprint
        self.events = events
        self.vault = vault
        self.retention = .seconds(identityRetentionDays * 86_400)
        self.logger = logger
        self.reportState = reportState
        for reader in readers { attach(reader) }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await withDiscardingTaskGroup { readers in
                    for await reader in self.attachments {
                        readers.addTask { await self.drive(reader) }
                    }
                }
            }
            group.addTask { await self.purgeUntilShutdown() }
            try? await gracefulShutdown()
            for driver in drivers.values { driver.stop() }
            group.cancelAll()
        }
    }

    /// Starts driving a reader found after start (a USB reader plugged in). A device already driven is left alone:
    /// its driver follows it through unplug and re-plug.
    public nonisolated func attach(_ reader: ReaderSpec) {
        guard attachedIDs.insert(reader.deviceID) else { return }
        attachmentContinuation.yield(reader)
    }

    private func drive(_ reader: ReaderSpec) async {
        let (stream, continuation) = AsyncStream.makeStream(of: ReaderDriverEvent.self, bufferingPolicy: .unbounded)
        let driver = ReaderDriver(timing: timing, readFingerprint: readFingerprint, open: reader.open, report: { continuation.yield($0) })
        drivers[reader.deviceID] = driver
        driver.start(name: reader.deviceID)
        logger.info("driving ID-card reader", metadata: ["device": "\(reader.deviceID)"])
        for await event in stream { await handle(event, device: reader.deviceID) }
    }

    /// Device ids of the readers driven (attached so far).
    public nonisolated var readerIDs: [String] { attachedIDs.sorted }

    /// Asks readers for a read now; returns the device ids asked (empty when the device is unknown).
    public func requestRead(device: String?) -> [String] {
        let chosen = drivers.filter { device == nil || $0.key == device }
        for driver in chosen.values { driver.requestRead() }
        return Array(chosen.keys)
    }

    /// A stored record, unmasked (callers audit and decide what to show).
    public func record(id: String) throws(StoreError) -> IdentityRecord? {
        guard let data = try vault.load(id: id) else { return nil }
        return try? JSONDecoder.tongban.decode(StoredIdentity.self, from: data).record
    }

    private func purgeUntilShutdown() async {
        while !Task.isCancelled {
            do {
                let purged = try vault.purge(readBefore: Date().addingTimeInterval(-Double(retention.components.seconds)))
                if purged > 0 { logger.info("purged identity records past retention", metadata: ["count": "\(purged)"]) }
            } catch {
                logger.error("identity purge failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    struct DeviceOnly: Codable, Sendable { var device: String }
    struct ErrorEvent: Codable, Sendable {
        var device: String
        var code: String
        var message: String
        var remedy: String
        var detail: String
    }

    func handle(_ event: ReaderDriverEvent, device: String) async {
        switch event {
        case .session(.ready):
            await reportState(device, nil)
            logger.info("ID-card reader ready", metadata: ["device": "\(device)"])
        case .session(.notReady(let reason)):
            await reportState(device, DeviceState(.error, message: "阅读器安全模块未就绪 Reader's SAM not ready (\(reason))",
                                                  remedy: "重新插拔阅读器；仍不行请联系厂商。Re-plug the reader; if it persists call the vendor."))
        case .session(.failed(let status)):
            let state = DeviceState(.error, message: "阅读器安全模块故障 Reader's SAM failed: \(status)",
                                    remedy: "联系阅读器厂商或更换阅读器。Call the reader's vendor or replace the reader.")
            await reportState(device, state)
            await publishError(device, code: "reader-sam-failed", state: state, detail: status.description)
        case .unavailable(let error):
            let state = DeviceState(.unavailable, message: "身份证阅读器未连接 ID-card reader not connected",
                                    remedy: "插好阅读器的 USB 线，读卡会自动恢复。Plug the reader's cable in; reading resumes by itself.")
            await reportState(device, state)
            await publishError(device, code: "reader-unavailable", state: state, detail: error.description)
            logger.warning("ID-card reader unavailable", metadata: ["device": "\(device)", "error": "\(error)"])
        case .session(.cardPresent):
            await events.publish("idcard.present", DeviceOnly(device: device))
        case .session(.cardRemoved):
            await events.publish("idcard.removed", DeviceOnly(device: device))
        case .session(.readFailed(let reason)):
            let state = DeviceState(.available, message: "读卡未完成 Read incomplete",
                                    remedy: "请把证件平放在阅读器上不要移动，稍后自动重读。Keep the card flat and still on the reader; it is read again automatically.")
            await publishError(device, code: "read-incomplete", state: state, detail: reason)
        case .session(.cardRead(let info, let additionalAddress, let onDemand)):
            await store(info, additionalAddress: additionalAddress, onDemand: onDemand, device: device)
        }
    }

    /// Fills in the record's photo through the vendor library, or notes why it stays undecoded.
    private func decodePhoto(_ wlt: [UInt8], into record: inout IdentityRecord, device: String) async {
        switch photoDecoder {
        case nil:
            record.photo?.note = "未配置照片解码库 no vendor photo decoder configured (devices.idcard.photoDecoder)"
        case .failure(let error):
            record.photo?.note = "照片解码库无法加载 the photo decoder could not be loaded: \(error)"
        case .success(let decoder):
            do {
                let jpeg = try await decoder.decode(wlt: wlt)
                record.photo?.decoded = true
                record.photo?.format = "jpeg"
                record.photo?.jpeg = Data(jpeg).base64EncodedString()
            } catch {
                record.photo?.note = "照片解码失败 photo not decoded: \(error)"
                logger.warning("card photo not decoded", metadata: ["device": "\(device)", "error": "\(error)"])
            }
        }
    }

    private func publishError(_ device: String, code: String, state: DeviceState, detail: String) async {
        await events.publish("idcard.error", ErrorEvent(device: device, code: code, message: state.message ?? "",
                                                        remedy: state.remedy ?? "", detail: PersonalData.maskIDNumbers(inText: detail)))
    }

    private func store(_ info: BaseInfo, additionalAddress: String?, onDemand: Bool, device: String) async {
        var record: IdentityRecord
        do {
            record = try IdentityParser.record(from: info, additionalAddress: additionalAddress, today: IdentityParser.today())
        } catch {
            let state = DeviceState(.available, message: "无法识别的证件 Card not recognised",
                                    remedy: "确认是二代居民身份证、港澳台居住证或外国人永居证。Check it is a resident ID, HK/Macao/Taiwan permit or foreigner's permanent residence card.")
            await publishError(device, code: "card-unrecognised", state: state, detail: error.description)
            return
        }
        await decodePhoto(info.photo, into: &record, device: device)
        let id = UUID().uuidString.lowercased()
        let readAt = Date()
        do {
            let stored = StoredIdentity(record: record, device: device, readAt: readAt,
                                        photoWLT: Data(info.photo).base64EncodedString(),
                                        fingerprint: info.fingerprint.map { Data($0).base64EncodedString() })
            try vault.save(id: id, device: device, readAt: readAt, json: try JSONEncoder.tongban.encode(stored))
        } catch {
            let problem = (error as? ProblemConvertible)?.problem
            let state = DeviceState(.error, message: problem?.title ?? "无法保存读卡记录 Cannot store the card read",
                                    remedy: problem?.remedy ?? "运行 tongban doctor。Run tongban doctor.")
            await publishError(device, code: "read-not-stored", state: state, detail: "\(error)")
            logger.error("identity record not stored", metadata: ["device": "\(device)", "error": "\(error)"])
            return
        }
        let masked = record.maskedCopy()
        logger.info("ID card read", metadata: ["device": "\(device)", "record": "\(id)", "type": "\(record.cardType.rawValue)",
                                                "name": "\(masked.name ?? "")", "number": "\(masked.idNumber ?? "")"])
        await events.publish("idcard.read", IdentityReadEvent(device: device, recordId: id, onDemand: onDemand, record: masked))
    }
}

/// Device ids, shared between the actor and callers that must not wait for it.
final class LockedIDSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []

    /// Adds `id`; false when it was there already.
    func insert(_ id: String) -> Bool { lock.withLock { ids.insert(id).inserted } }

    var sorted: [String] { lock.withLock { ids.sorted() } }
}
