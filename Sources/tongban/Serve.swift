import Assist
import API
import ArgumentParser
import Cameras
import Delivery
import Devices
import Foundation
import AsyncHTTPClient
import IDCard
import Imaging
import Leptonica
import LibCrypto
import LibUSB
import Logging
import Metrics
import Printing
import Prometheus
import SAMProtocol
import Scanning
import ServiceLifecycle
import Simulators
import Store
import TongbanConfig
import TongbanCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service: local API, console, device registry, delivery.")

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .long, help: "Listen address host:port (overrides api.listen; port 0 picks a free port).")
    var listen: String?

    @Flag(name: .long, help: "Demo mode: simulate every device class that has no real hardware.")
    var demo = false

    func run() async throws {
        let startedAt = Date()
        var overrides: [String: String] = [:]
        if let listen { overrides["api.listen"] = listen }
        if demo { overrides["devices.simulate"] = "missing" }
        let configuration = options.load(extraOverrides: overrides)
        bootstrapLogging(level: configuration.logLevel)
        let logger = Logger(label: "tongban")

        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))

        // The national suite is used only after its known-answer tests pass against this machine's libcrypto: a
        // library without SM (or a broken one) stops the start, it never falls back to the standard suite.
        let suite = configuration.security.cryptoSuite
        if suite == .sm {
            let failed = KnownAnswerTests.run().filter { !$0.passed }
            guard failed.isEmpty else {
                fail(Problem(code: "crypto-selftest-failed", status: 500, title: "国密算法自检失败 National-suite self-test failed",
                             detail: "security.cryptoSuite is sm, and \(LibCrypto.version) fails: "
                                 + failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                             remedy: "Install Debian's libssl3 (OpenSSL 3.0 or later, with SM2/SM3/SM4) and run tongban crypto selftest."),
                     exitCode: 78)
            }
        }
        let store: Store
        do { store = try Store(directory: configuration.dataDirectory, cryptoSuite: suite) } catch { fail(error.problem) }
        logger.info("crypto suite", metadata: ["suite": "\(suite.rawValue)", "algorithms": "\(suite.algorithms)",
                                               "signingKey": "\(store.keys.signingKeyFingerprint ?? "none")"])
        let token: String
        if let configured = configuration.api.token {
            token = configured
        } else {
            do { token = try APIToken.loadOrCreate(dataDirectory: configuration.dataDirectory) } catch { fail(error.problem) }
        }
        let usbContext = configuration.devices.simulate == .all ? nil : try? USBContext()
        let discoverers: [any DeviceDiscoverer]
        do { discoverers = try makeDiscoverers(configuration, usbContext: usbContext) } catch { fail(error.problem, exitCode: 78) }

        if !configuration.api.listen.isLoopback {
            logger.warning("the API listens on a non-loopback address as configured", metadata: ["listen": "\(configuration.api.listen)"])
        }
        let events = EventBus()
        let registry = DeviceRegistry(
            discoverers: discoverers, simulate: configuration.devices.simulate, disabled: configuration.devices.disabled,
            pollInterval: .milliseconds(configuration.devices.pollIntervalMilliseconds), events: events, store: store,
            logger: Logger(label: "tongban.devices"))
        let vault: IdentityVault
        do { vault = try IdentityVault(store: store) } catch { fail(error.problem) }
        let (readers, readerSimulator) = idCardReaders(configuration)
        let photoDecoder = configuration.devices.idCardPhotoDecoder.map { path in
            Result { () throws(PhotoDecoderError) in try VendorPhotoDecoder(libraryPath: path) }
        }
        if case .failure(let error) = photoDecoder {
            logger.error("the configured photo decoder cannot be loaded; card photos stay undecoded",
                         metadata: ["devices.idcard.photoDecoder": "\(configuration.devices.idCardPhotoDecoder ?? "")", "error": "\(error)"])
        }
        let idCard = IDCardService(readers: readers, readFingerprint: configuration.devices.idCardReadFingerprint, photoDecoder: photoDecoder,
                                   events: events, vault: vault,
                                   identityRetentionDays: configuration.retention.identityDays,
                                   logger: Logger(label: "tongban.idcard")) { id, state in await registry.report(id, state: state) }
        let (sink, httpClient) = makeDeliverySink(configuration)
        let outbox = OutboxSender(store: store, sink: sink, vault: vault, events: events, parallelism: configuration.caseCore.parallelUploads,
                                  backoff: Backoff(maximumSeconds: Double(configuration.caseCore.retryMaxSeconds)),
                                  logger: Logger(label: "tongban.delivery"))
        let retention = RetentionPolicy(identityDays: configuration.retention.identityDays, scanDays: configuration.retention.scanDays,
                                        noticeDays: configuration.retention.noticeDays, recordingDays: configuration.retention.recordingDays)
        // The one hand-off of every device class: once an attachment's transaction committed, the outbox is woken
        // and the page told.
        let intake = AttachmentIntake(store: store, vault: vault, counterID: configuration.counter.id,
                                      deliveryHold: TimeInterval(configuration.caseCore.holdSeconds), stored: { manifest in
            outbox.wake()
            await events.publish("attachment.stored", manifest)
        })
        // What a crash left of attachments never acknowledged goes before anything new is taken in; so do the
        // idempotency claims of requests that were never answered.
        do throws(StoreError) {
            let swept = try await intake.sweepUnacknowledged()
            if !swept.isEmpty { logger.notice("removed what a crash left of unacknowledged attachments", metadata: ["count": "\(swept.count)"]) }
            try store.purgeIdempotencyKeys(before: Date(timeIntervalSinceNow: -IdempotencyMiddlewareSettings.keptSeconds), markRunningInterrupted: true)
        } catch { fail(error.problem) }
        switch try? store.verifyAudit() {
        case .broken(let sequence, let reason):
            logger.critical("the audit log fails verification: run tongban audit verify", metadata: ["record": "\(sequence)", "reason": "\(reason)"])
        default: break
        }
        let scans: ScanService
        do {
            let threads = configuration.scanning.imagingThreads
            let pool = try ImagingPool(workers: threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads,
                                       text: TextRecognitionSettings(languages: configuration.scanning.textLanguages))
            scans = ScanService(store: store, intake: intake, events: events, pool: pool, logger: Logger(label: "tongban.scan"),
                                defaultScanner: configuration.scanning.device, defaultDPI: configuration.scanning.dotsPerInch,
                                jpegQuality: configuration.scanning.jpegQuality,
                                stallSeconds: configuration.scanning.stallSeconds,
                                recognizeText: configuration.scanning.recognizeText,
                                defaultFormat: configuration.scanning.format) {
                await registry.snapshot().devices.first { $0.deviceClass == .scanner && $0.state.availability == .available }
                    .flatMap { $0.details["saneName"] }
            }
            try await scans.recoverInterrupted()
        } catch let error as ProblemConvertible { fail(error.problem) }
        Leptonica.silenceMessages()
        let prints = PrintService(store: store, intake: intake, events: events, renderer: makeNoticeRenderer(configuration),
                                  cupsServer: configuration.printers.cupsServer, noticeQueue: configuration.printers.notices,
                                  receiptPrinter: configuration.printers.receipts, simulatedQueues: Set(configuration.printers.simulated),
                                  logger: Logger(label: "tongban.print"))
        do { _ = try await prints.recoverInterrupted() } catch { fail(error.problem) }
        let scenesDirectory = configuration.cameraScenesDirectory
        let cameras = CameraService(intake: intake, events: events, logger: Logger(label: "tongban.camera"),
                                    settleFrames: configuration.cameras.settleFrames,
                                    idleRelease: TimeInterval(configuration.cameras.idleReleaseSeconds),
                                    previewQuality: configuration.cameras.previewQuality,
                                    defaultStillForMilliseconds: configuration.cameras.autoCaptureStillMilliseconds,
                                    calibration: CameraCalibration(viewWidthMillimetres: Double(configuration.cameras.viewWidthMillimetres),
                                                                   horizontalFieldOfViewDegrees: Double(configuration.cameras.fieldOfViewDegrees)),
                                    text: TextRecognitionSettings(languages: configuration.scanning.textLanguages),
                                    recognizeText: configuration.cameras.recognizeText) { id in
            guard let device = await registry.snapshot().devices.first(where: { $0.id == id && $0.deviceClass == .camera }) else { return nil }
            if device.transport == .simulator {
                return (device.model, .pictures(scenes: CameraService.scenes(in: scenesDirectory)))
            }
            return (device.model, .v4l2(path: String(id.dropFirst("v4l2:".count))))
        }
        // Video assistance, when a Janus is configured: with the configured webcam and microphone, or a test pattern
        // and tone where they are set to "test" (the demo); calls are refused while they are not configured.
        // Missed calls reported to the city SMS gateway: the template is checked before the service starts.
        var missedCallNotify: MissedCallNotifySettings?
        if let notify = configuration.assist.missedCallNotify {
            do {
                let text: String
                if let file = notify.templateFile {
                    guard let contents = FileManager.default.contents(atPath: file) else { fail(StorageError(call: "open", path: file, errno: errno).problem, exitCode: 78) }
                    text = String(decoding: contents, as: UTF8.self)
                } else {
                    text = ReminderTemplate.builtIn
                }
                let settings = MissedCallNotifySettings(url: notify.url, template: try ReminderTemplate(text: text, source: notify.templateFile ?? "the built-in template"),
                                                        hall: configuration.counter.hall, retryMaxSeconds: notify.retryMaxSeconds, caFile: notify.caFile)
                // The CA file is checked now: a gateway that can never be reached is a configuration error, not a
                // reminder retried for ever.
                do { try await MissedCallReminders.makeClient(settings).shutdown() } catch let error as DeliveryError {
                    fail(Problem(code: "reminder-gateway-unusable", status: 500, title: "短信网关配置无效 SMS gateway settings unusable",
                                 detail: "\(error)", remedy: "Check assist.missedCallNotify.caFile."), exitCode: 78)
                }
                missedCallNotify = settings
            } catch let problem as Problem { fail(problem, exitCode: 78) } catch { fail(Problem(code: "reminder-gateway-unusable", status: 500,
                title: "短信网关配置无效 SMS gateway settings unusable", detail: "\(error)", remedy: "Check assist.missedCallNotify."), exitCode: 78) }
        }
        let assist = configuration.assist.janusURL.map { janusURL in
            let settings = configuration.assist
            var assistSettings = AssistSettings(
                janusURL: janusURL, counterID: configuration.counter.id, office: settings.office, answersFor: settings.answersFor,
                ringTimeout: .seconds(settings.ringTimeoutSeconds), missedCallsPerMonthLimit: settings.missedCallsPerMonthLimit,
                roomSecret: settings.roomSecret,
                media: MediaSettings(settings),
                recordingsDirectory: "\(configuration.dataDirectory)/recordings",
                unconfigured: settings.unsetCallDevices)
            assistSettings.missedCallNotify = missedCallNotify
            return AssistService(settings: assistSettings, store: store, intake: intake, events: events, logger: Logger(label: "tongban.assist"))
        }
        // Stored reminders are sent whether or not calls are on now (a counter switched off assistance still owes them).
        let reminders = missedCallNotify.map { MissedCallReminders(store: store, settings: $0, logger: Logger(label: "tongban.assist")) }
        await assist?.recoverInterrupted()
        var dependencies = APIDependencies(configuration: configuration, registry: registry, events: events,
                                           metrics: metrics, token: token, version: Tongban.version, startedAt: startedAt,
                                           idCard: idCard, readerSimulator: readerSimulator, store: store,
                                           intake: intake, outbox: outbox, scans: scans, prints: prints, cameras: cameras,
                                           assist: assist)
        dependencies.demo = demo
        let application: any Service
        do {
            application = try TongbanAPI.makeApplication(dependencies, logger: Logger(label: "tongban.api")) { port in
                let host = configuration.api.listen.host.contains(":") ? "[\(configuration.api.listen.host)]" : configuration.api.listen.host
                let elapsed = Int(Date().timeIntervalSince(startedAt) * 1000)
                let line = "tongban: ready in \(elapsed) ms — console http://\(host):\(port)/console — API http://\(host):\(port)/v1/\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        } catch let problem as Problem { fail(problem) }

        var assistServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let assist { assistServices.append(.init(service: assist)) }
        if let reminders { assistServices.append(.init(service: reminders)) }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: registry), .init(service: idCard), .init(service: application), .init(service: outbox), .init(service: prints),
                       .init(service: cameras)] + assistServices + [
                       .init(service: RetentionService(store: store, policy: retention, logger: Logger(label: "tongban.retention")))]
                + (usbContext.map { [.init(service: USBReaderAttachment(registry: registry, idCard: idCard, context: $0, interval: .milliseconds(configuration.devices.pollIntervalMilliseconds),
                                                      logger: Logger(label: "tongban.idcard")))] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            await events.finishAll()
            let problem = (error as? ProblemConvertible)?.problem ?? Problem(
                code: "service-failed", status: 500, title: "服务异常退出 Service stopped", detail: "\(error)",
                remedy: "Check that the listen address \(configuration.api.listen) is free (another tongban running?).")
            fail(problem)
        }
        await events.finishAll()
        try? await httpClient?.shutdown()
        logger.info("stopped cleanly")
    }
}

/// The ID-card readers to drive: every configured serial port; in demo mode, when no serial reader is
/// configured, the in-process simulated reader (`sim:idcard`), whose card the console places and lifts.
func idCardReaders(_ configuration: TongbanConfiguration) -> ([ReaderSpec], SharedReaderSimulator?) {
    let baudRate = configuration.devices.idCardBaudRate
    let serialReaders = configuration.devices.idCardSerialPorts.map { port in
        ReaderSpec(deviceID: "serial:\(port)") { () throws(IDCardError) -> any SAMTransport in
            try SerialTransport(path: port, baudRate: baudRate)
        }
    }
    switch configuration.devices.simulate {
    case .none: return (serialReaders, nil)
    case .missing where !serialReaders.isEmpty: return (serialReaders, nil)
    case .missing, .all:
        let simulator = SharedReaderSimulator()
        let simulated = ReaderSpec(deviceID: "sim:idcard") { () throws(IDCardError) -> any SAMTransport in
            SimulatorTransport(simulator: simulator, baudRate: baudRate)
        }
        return ([simulated], simulator)
    }
}

/// Drives every USB ID-card reader the registry finds, from the moment it is plugged in: the quirk data's endpoint
/// layout (split or single; HID readers are listed, not driven), opened by bus location so two readers stay apart.
/// An unplugged reader's driver keeps retrying and resumes when it is back.
struct USBReaderAttachment: Service {
    let registry: DeviceRegistry
    let idCard: IDCardService
    let context: USBContext
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await registry.waitForFirstRound()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for device in await registry.snapshot().devices where device.deviceClass == .idReader && device.transport == .usb {
                guard let usbID = device.details["usbId"], let layout = device.details["endpoints"], layout != "hid" else { continue }
                let location = device.details["location"], context = self.context, logger = self.logger, id = device.id
                idCard.attach(ReaderSpec(deviceID: device.id) { () throws(IDCardError) -> any SAMTransport in
                    let transport = try USBBulkTransport(context: context, usbID: usbID, location: location, split: layout == "split")
                    logger.info("opened USB ID-card reader", metadata: ["device": "\(id)", "endpoints": "\(transport.endpoints.summary)"])
                    return transport
                })
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// The case core's tus endpoint when `caseCore.url` is set, otherwise the local archive folder. A TLS file that
/// cannot be used stops the service (exit 78) naming it.
func makeDeliverySink(_ configuration: TongbanConfiguration) -> (any DeliverySink, HTTPClient?) {
    let caseCore = configuration.caseCore
    guard let url = caseCore.url.flatMap(URL.init(string:)) else {
        return (LocalArchiveSink(directory: caseCore.archiveDirectory ?? "\(configuration.dataDirectory)/archive"), nil)
    }
    do {
        let http = try TusClient.makeHTTPClient(caFile: caseCore.caFile, clientCertificate: caseCore.clientCertificate,
                                                clientKey: caseCore.clientKey)
        return (TusSink(client: TusClient(endpoint: url, http: http), chunkSize: caseCore.chunkSize), http)
    } catch {
        fail(Problem(code: "case-core-tls", status: 500, title: "案件系统连接配置错误 Case core TLS settings unusable",
                     detail: error.description, remedy: "Fix caseCore.caFile / clientCertificate / clientKey and restart."), exitCode: 78)
    }
}
