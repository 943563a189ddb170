import ArgumentParser
import Cameras
import Foundation
import Imaging
import Store
import TurboJPEG
import TongbanCore
import V4L2

/// `tongban camera`: cameras on this PC, without the service (which shares them; stop it first for these).
struct CameraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera", abstract: "List cameras, stream from one, or capture a still into a file.",
        subcommands: [List.self, Stream.self, Capture.self, Process.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every /dev/video* capture node with its formats, sizes, rates and controls.")

        @Option(help: "Folder of the device nodes.") var directory = "/dev"
        @Flag(help: "Print JSON.") var json = false

        struct Entry: Encodable {
            var device: String
            var card: String?
            var driver: String?
            var multiplanar: Bool?
            var capabilities: CameraCapabilities?
            var error: String?
        }

        func run() throws {
            var entries: [Entry] = []
            for path in V4L2.deviceNodes(in: directory) {
                let description = try? V4L2.query(path)
                guard description?.canCapture != false else { continue }
                do {
                    let camera = try DirectCamera(path: path)
                    entries.append(Entry(device: path, card: description?.card, driver: description?.driver,
                                         multiplanar: description?.isMultiplanar, capabilities: try camera.capabilities()))
                } catch {
                    entries.append(Entry(device: path, card: description?.card, driver: description?.driver, error: error.description))
                }
            }
            if json {
                print(String(decoding: try JSONEncoder.tongban.encode(["cameras": entries]), as: UTF8.self))
                return
            }
            if entries.isEmpty { print("no cameras") }
            for entry in entries {
                print("\(entry.device)  \(entry.card ?? "")  (\(entry.driver ?? "?"))\(entry.error.map { "  error: \($0)" } ?? "")")
                for format in entry.capabilities?.formats ?? [] {
                    let sizes = format.sizes.prefix(6).map { "\($0.width)x\($0.height)" }.joined(separator: " ")
                    print("  \(format.pixelFormat) \(format.emulated ? "(converted) " : "")\(sizes)")
                }
                for control in entry.capabilities?.controls ?? [] {
                    print("  control \(control.name) = \(control.value.map(String.init) ?? "-") [\(control.minimum)…\(control.maximum)]")
                }
            }
        }
    }

    struct Stream: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream frames and print one JSON line per frame (sequence, size, bytes); ends after --frames.",
            discussion: "Exits 0 after the frames, 69 when the camera is unplugged mid-stream, 75 when it is busy.")

        @Option(help: "The device node.") var device: String
        @Option(help: "Frame width wanted (the nearest offered is used).") var width: Int?
        @Option(help: "Frame height wanted.") var height: Int?
        @Option(help: "Frames per second wanted.") var fps: Double?
        @Option(help: "Frames to take.") var frames = 10
        @Option(help: "Append every frame's JPEG to this file (an MJPEG recording).") var out: String?

        func run() throws {
            let camera: DirectCamera
            do { camera = try DirectCamera(path: device) } catch { exitWith(error) }
            let output = out.flatMap { FileManager.default.createFile(atPath: $0, contents: nil) ? FileHandle(forWritingAtPath: $0) : nil }
            do {
                let mode = try camera.start(CameraModeRequest(width: width, height: height, framesPerSecond: fps))
                print(#"{"mode": "\#(mode.pixelFormat)", "width": \#(mode.width), "height": \#(mode.height), "passthrough": \#(mode.passthrough)}"#)
                for _ in 0..<frames {
                    let frame = try camera.nextFrame()
                    output?.write(Data(frame.jpeg))
                    let line = #"{"sequence": \#(frame.sequence), "width": \#(frame.width), "height": \#(frame.height), "bytes": \#(frame.jpeg.count)}"#
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
                camera.stop()
            } catch { exitWith(error) }
        }
    }

    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A still at the camera's largest size, made into a file by --mode.")

        @Option(help: "The device node.") var device: String
        @Option(help: "document, photo, idcard-front or idcard-back.") var mode: String = "photo"
        @Option(help: "jpeg or pdf (documents default to pdf).") var format: String?
        @Option(help: "Frames dropped while exposure settles.") var settleFrames = 3
        @Option(help: "Where to write the file.") var out: String

        func run() throws {
            guard let captureMode = CaptureMode(rawValue: mode) else {
                fail(Problem(code: "invalid-option", status: 400, title: "参数无效 Bad --mode", detail: "--mode \(mode) is not one of "
                             + CaptureMode.allCases.map(\.rawValue).joined(separator: ", "), remedy: "Pick one of those."))
            }
            let still: (frame: CameraFrame, mode: CameraMode)
            do { still = try DirectCamera(path: device).still(settleFrames: settleFrames) } catch { exitWith(error) }
            let made: CaptureProcessor.Made
            do {
                made = try CaptureProcessor.make(still.frame, CameraCaptureRequest(mode: captureMode, caseNumber: "cli", format: format),
                                                 device: device)
            } catch { fail(error) }
            do {
                try DurableFile.write(made.bytes, to: out, permissions: 0o644)
            } catch { fail(error.problem) }
            print(#"{"file": "\#(out)", "contentType": "\#(made.contentType)", "width": \#(made.width), "height": \#(made.height), "pictureWidth": \#(still.frame.width), "pictureHeight": \#(still.frame.height), "pixelFormat": "\#(still.mode.pixelFormat)"}"#)
        }
    }

    /// A picture from a file made into what --mode says, exactly as a capture would: for trying the document finder
    /// and its judgements on photos of real desks (and the test corpus).
    struct Process: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a JPEG picture into a document or card image as a capture would; prints what was found as JSON.",
            discussion: "Exit 0 with {file, width, height, corners, assessment}; exit 2 with the problem (refused: not found, out of view, not a card, needs a retake).")

        @Option(help: "document, idcard-front or idcard-back.") var mode: String = "document"
        @Option(help: "jpeg or pdf (documents default to pdf).") var format: String?
        @Option(name: .customLong("view-width-mm"), help: "How wide the desk the camera sees is at the mat, in mm (0: not known).") var viewWidth: Double = 0
        @Option(name: .customLong("field-of-view"), help: "The camera's horizontal field of view in degrees (0: not known).") var fieldOfView: Double = 0
        @Flag(help: "Keep it although it is doubtful (out of view, blurred, glare, too few pixels).") var insist = false
        @Flag(help: "Do not even out the light or stretch the levels.") var noEnhance = false
        @Option(help: "Where to write the file.") var out: String
        @Argument(help: "The picture (JPEG).") var picture: String

        struct Output: Encodable {
            var file: String
            var contentType: String
            var width: Int
            var height: Int
            var pictureWidth: Int
            var pictureHeight: Int
            var corners: [ImagePoint]?
            var assessment: CaptureAssessment?
        }

        func run() throws {
            guard let captureMode = CaptureMode(rawValue: mode), captureMode != .photo else {
                fail(Problem(code: "invalid-option", status: 400, title: "参数无效 Bad --mode", detail: "--mode \(mode) is not document, idcard-front or idcard-back",
                             remedy: "Pick one of those."))
            }
            guard let bytes = FileManager.default.contents(atPath: picture) else {
                fail(Problem(code: "file-not-found", status: 404, title: "找不到文件 No such file", detail: picture, remedy: "Give a JPEG picture."))
            }
            let jpeg = Array(bytes)
            let size: (width: Int, height: Int)
            do { size = try JPEGDecoder().dimensions(jpeg) } catch {
                fail(Problem(code: "not-a-jpeg", status: 415, title: "不是 JPEG 图片 Not a JPEG", detail: "\(picture): \(error)", remedy: "Give a JPEG picture."))
            }
            let frame = CameraFrame(sequence: 0, width: size.width, height: size.height, jpeg: jpeg, passthrough: true)
            let request = CameraCaptureRequest(mode: captureMode, caseNumber: "cli", format: format, enhance: noEnhance ? false : nil,
                                               insist: insist ? true : nil)
            let calibration = CameraCalibration(viewWidthMillimetres: viewWidth, horizontalFieldOfViewDegrees: fieldOfView)
            let made: CaptureProcessor.Made
            do { made = try CaptureProcessor.make(frame, request, device: picture, calibration: calibration) } catch {
                print(String(decoding: (try? JSONEncoder.tongban.encode(error)) ?? Data(), as: UTF8.self))
                Foundation.exit(2)
            }
            do { try DurableFile.write(made.bytes, to: out, permissions: 0o644) } catch { fail(error.problem) }
            let output = Output(file: out, contentType: made.contentType, width: made.width, height: made.height, pictureWidth: size.width,
                                pictureHeight: size.height, corners: made.corners, assessment: made.assessment)
            print(String(decoding: (try? JSONEncoder.tongban.encode(output)) ?? Data(), as: UTF8.self))
        }
    }
}

/// Camera failures as the CLI reports them: the message on stderr, an exit status scripts can test.
private func exitWith(_ error: CameraError) -> Never {
    FileHandle.standardError.write(Data("tongban camera: \(error.description)\n".utf8))
    switch error.code {
    case .unplugged: Foundation.exit(69)  // EX_UNAVAILABLE
    case .busy: Foundation.exit(75)  // EX_TEMPFAIL
    default: Foundation.exit(1)
    }
}

