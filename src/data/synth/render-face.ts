/**
 * Renders one synthetic face: pose the head (camera rotation for HL/F/HR/BV plus the frame's
 * small head jitter), project with a mild perspective, align and crop from the projected
 * landmarks (eye line horizontal, box from the landmark extent, like Dlib/MTCNN crops),
 * rasterise the solids with Gouraud shading, paint the features, then downsample and add noise.
 * Lighting is fixed to the world, not the camera, so one frame's four poses are true pairs.
 */
import type { Pose } from '../labels.js';
import { createImage, toGrayscale, type ImageU8 } from '../image.js';
import { Random } from '../random.js';
import { buildLandmarks, clamp, jawDrop, surfaceDepth, type ExpressionFeatures, type Identity, type Rgb } from './face-model.js';
import { buildHeadMesh, buildNoseMesh, type Mesh } from './head-mesh.js';
import { blend, createCanvas, fillTriangle, type Canvas, type ScreenPoint } from './raster.js';

export type Vector3 = [number, number, number];
type Matrix3 = number[]; // row-major 3×3

/** Camera yaw/pitch of each F²ED pose in degrees: HL/HR cameras 45° to the side, BV 30° above. */
export const POSE_CAMERA: Record<Pose, { yaw: number; pitch: number }> = {
  HL: { yaw: -45, pitch: 0 }, F: { yaw: 0, pitch: 0 }, HR: { yaw: 45, pitch: 0 }, BV: { yaw: 0, pitch: 30 },
};

export interface FaceScene {
  identity: Identity;
  features: ExpressionFeatures;
  pose: Pose;
  /** Head jitter in degrees (the subject moving a little between frames). */
  headYaw: number; headPitch: number; headRoll: number;
  /** Light direction in the world frame (toward the light), ambient and overall gain. */
  lightDirection: Vector3; ambient: number; brightness: number;
  background: Rgb;
  /** Std of Gaussian pixel noise in 0..255 units. */
  noise: number;
  noiseSeed: number;
  /** Iris offset (gaze), in head units. */
  gaze: [number, number];
}

export interface RenderOptions {
  size: number;
  channels: 1 | 3;
  /** Render at size × supersample and area-downsample (antialiasing); default 3 at ≤ 64 px, else 2. */
  supersample?: number;
  /** Compute the landmarks only (no rasterising): cheap, for masks and indexes. */
  landmarksOnly?: boolean;
}

export interface RenderedFace { image: ImageU8; landmarks: Float32Array }

const CAMERA_DISTANCE = 8; // head units; mild perspective like a camera a metre or so away
const meshCache = new WeakMap<Identity, Mesh>();

function rotationY(degrees: number): Matrix3 {
  const r = (degrees * Math.PI) / 180, c = Math.cos(r), s = Math.sin(r);
  return [c, 0, s, 0, 1, 0, -s, 0, c];
}
function rotationX(degrees: number): Matrix3 {
  const r = (degrees * Math.PI) / 180, c = Math.cos(r), s = Math.sin(r);
  return [1, 0, 0, 0, c, -s, 0, s, c];
}
function rotationZ(degrees: number): Matrix3 {
  const r = (degrees * Math.PI) / 180, c = Math.cos(r), s = Math.sin(r);
  return [c, -s, 0, s, c, 0, 0, 0, 1];
}
function multiply(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[3 * i + j]! += a[3 * i + k]! * b[3 * k + j]!;
  return out;
}
function apply(m: Matrix3, x: number, y: number, z: number): Vector3 {
  return [m[0]! * x + m[1]! * y + m[2]! * z, m[3]! * x + m[4]! * y + m[5]! * z, m[6]! * x + m[7]! * y + m[8]! * z];
}

/** Camera rotation of a pose: the world as seen from that camera. */
export function poseRotation(pose: Pose): Matrix3 {
  const { yaw, pitch } = POSE_CAMERA[pose];
  // A camera at the subject's left (+x) sees the head turned by −45° about y; a camera above
  // sees the top of the head tilted toward it (+30° about x brings +y toward +z).
  return multiply(rotationX(pitch), rotationY(yaw));
}

export function renderFace(scene: FaceScene, options: RenderOptions): RenderedFace {
  const { identity, features } = scene;
  const supersample = options.supersample ?? (options.size <= 64 ? 3 : 2);
  const canvasSize = options.size * supersample;
  const landmarks3d = buildLandmarks(identity, features);
  const headRotation = multiply(rotationZ(scene.headRoll), multiply(rotationX(scene.headPitch), rotationY(scene.headYaw)));
  const toCamera = multiply(poseRotation(scene.pose), headRotation);

  const project = (x: number, y: number, z: number): Vector3 => {
    const [cx, cy, cz] = apply(toCamera, x, y, z);
    const scale = CAMERA_DISTANCE / (CAMERA_DISTANCE - cz);
    return [cx * scale, cy * scale, cz];
  };

  // Alignment from the projected landmarks: level the eyes, frame the landmark box.
  const projected: Vector3[] = [];
  for (let i = 0; i < 68; i++) projected.push(project(landmarks3d[3 * i]!, landmarks3d[3 * i + 1]!, landmarks3d[3 * i + 2]!));
  const eyeCentre = (start: number) => {
    let x = 0, y = 0;
    for (let i = start; i < start + 6; i++) { x += projected[i]![0]; y += projected[i]![1]; }
    return [x / 6, y / 6] as const;
  };
  const [lx, ly] = eyeCentre(36), [rx, ry] = eyeCentre(42);
  const angle = Math.atan2(ry - ly, rx - lx);
  const cosA = Math.cos(-angle), sinA = Math.sin(-angle);
  const level = (x: number, y: number) => [x * cosA - y * sinA, x * sinA + y * cosA] as const;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const p of projected) {
    const [x, y] = level(p[0], p[1]);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const boxSize = 1.22 * Math.max(maxX - minX, 1.2 * (maxY - minY));
  const centreX = (minX + maxX) / 2, centreY = (minY + maxY) / 2 + 0.1 * boxSize;
  const pixelsPerUnit = canvasSize / boxSize;
  const toScreen = (x: number, y: number, z: number): ScreenPoint => {
    const p = project(x, y, z);
    const [ax, ay] = level(p[0], p[1]);
    return [canvasSize / 2 + (ax - centreX) * pixelsPerUnit, canvasSize / 2 - (ay - centreY) * pixelsPerUnit, p[2]];
  };

  const imageLandmarks = () => {
    const out = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      const p = toScreen(landmarks3d[3 * i]!, landmarks3d[3 * i + 1]!, landmarks3d[3 * i + 2]!);
      out[2 * i] = p[0] / supersample; out[2 * i + 1] = p[1] / supersample;
    }
    return out;
  };
  if (options.landmarksOnly) return { image: createImage(options.size, options.size, options.channels), landmarks: imageLandmarks() };

  const background = scene.background;
  const canvas = createCanvas(canvasSize, canvasSize, (_x, y) => {
    const shade = 1.08 - 0.16 * (y / canvasSize);
    return [background[0] * shade, background[1] * shade, background[2] * shade];
  });

  const light = normalise(scene.lightDirection);
  const lightAt = (nx: number, ny: number, nz: number) => {
    const [wx, wy, wz] = apply(headRotation, nx, ny, nz);
    const diffuse = Math.max(0, wx * light[0] + wy * light[1] + wz * light[2]);
    const fill = 0.25 * Math.max(0, wz); // soft fill from the front of the room
    return scene.brightness * (scene.ambient + (1 - scene.ambient) * diffuse + fill);
  };

  let headMesh = meshCache.get(identity);
  if (!headMesh) { headMesh = buildHeadMesh(identity); meshCache.set(identity, headMesh); }
  drawMesh(canvas, headMesh, identity, features, toScreen, lightAt, true);
  drawMesh(canvas, buildNoseMesh(identity, landmarks3d), identity, features, toScreen, lightAt, false);
  paintFeatures(canvas, scene, landmarks3d, toScreen, lightAt, pixelsPerUnit);

  const image = downsample(canvas, supersample, scene.noise, new Random(scene.noiseSeed));
  return { image: options.channels === 1 ? toGrayscale(image) : image, landmarks: imageLandmarks() };
}

function normalise(v: Vector3): Vector3 {
  const length = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / length, v[1] / length, v[2] / length];
}

type ToScreen = (x: number, y: number, z: number) => ScreenPoint;
type LightAt = (nx: number, ny: number, nz: number) => number;

function drawMesh(canvas: Canvas, mesh: Mesh, identity: Identity, features: ExpressionFeatures, toScreen: ToScreen, lightAt: LightAt, deformJaw: boolean): void {
  const count = mesh.positions.length / 3;
  const screen: ScreenPoint[] = new Array(count);
  const shade = new Float32Array(count);
  for (let v = 0; v < count; v++) {
    const x = mesh.positions[3 * v]!, y = mesh.positions[3 * v + 1]!, z = mesh.positions[3 * v + 2]!;
    const drop = deformJaw && z > 0 ? jawDrop(identity, features, y) * clamp(z / 0.4, 0, 1) : 0;
    screen[v] = toScreen(x, y + drop, z);
    shade[v] = lightAt(mesh.normals[3 * v]!, mesh.normals[3 * v + 1]!, mesh.normals[3 * v + 2]!);
  }
  const hairColour = identity.hair;
  const { colour } = canvas;
  const t = mesh.triangles;
  for (let k = 0; k < t.length; k += 3) {
    const a = t[k]!, b = t[k + 1]!, c = t[k + 2]!;
    fillTriangle(canvas, screen[a]!, screen[b]!, screen[c]!, { depth: 'write' }, (pixel, w0, w1, w2) => {
      const light = w0 * shade[a]! + w1 * shade[b]! + w2 * shade[c]!;
      const hair = w0 * mesh.hair[a]! + w1 * mesh.hair[b]! + w2 * mesh.hair[c]!;
      const h = clamp((hair - 0.4) / 0.2, 0, 1);
      const i = 3 * pixel;
      for (let channel = 0; channel < 3; channel++) {
        const skin = w0 * mesh.albedo[3 * a + channel]! + w1 * mesh.albedo[3 * b + channel]! + w2 * mesh.albedo[3 * c + channel]!;
        // Hair takes less light (rougher, darker) so its boundary reads even for light hair on light skin.
        colour[i + channel] = (skin * (1 - h) + hairColour[channel]! * h * 0.85) * light * (1 - 0.15 * h);
      }
    });
  }
}

/** Catmull–Rom through points (open or closed), `steps` samples per span. */
function smoothCurve(points: Vector3[], closed: boolean, steps: number): Vector3[] {
  const out: Vector3[] = [];
  const n = points.length;
  const at = (i: number) => points[closed ? (i + n) % n : clamp(i, 0, n - 1)]!;
  const spans = closed ? n : n - 1;
  for (let i = 0; i < spans; i++) {
    const p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
    for (let s = 0; s < steps; s++) {
      const t = s / steps, t2 = t * t, t3 = t2 * t;
      out.push([0, 1, 2].map((d) => 0.5 * (2 * p1[d]! + (-p0[d]! + p2[d]!) * t + (2 * p0[d]! - 5 * p1[d]! + 4 * p2[d]! - p3[d]!) * t2 + (-p0[d]! + 3 * p1[d]! - 3 * p2[d]! + p3[d]!) * t3)) as Vector3);
    }
  }
  if (!closed) out.push(points[n - 1]!);
  return out;
}

function paintFeatures(canvas: Canvas, scene: FaceScene, points: Float64Array, toScreen: ToScreen, lightAt: LightAt, pixelsPerUnit: number): void {
  const { identity: id, features: f } = scene;
  const landmark = (i: number): Vector3 => [points[3 * i]!, points[3 * i + 1]!, points[3 * i + 2]!];
  const onSkin = (x: number, y: number, lift = 0.03): Vector3 => [x, y, surfaceDepth(id, x, y) + lift];
  const faceLight = lightAt(0, 0.15, 1);
  const lit = (c: Rgb, gain = 1): Rgb => [c[0] * faceLight * gain, c[1] * faceLight * gain, c[2] * faceLight * gain];
  const tolerance = 0.08;

  const polygon = (loop: Vector3[], colour: Rgb, alpha: number, stencil?: { write?: number; test?: number }) => {
    const centre: Vector3 = [0, 0, 0];
    for (const p of loop) { centre[0] += p[0] / loop.length; centre[1] += p[1] / loop.length; centre[2] += p[2] / loop.length; }
    const c = toScreen(...centre);
    const screen = loop.map((p) => toScreen(...p));
    const stroke = canvas.nextStroke++;
    const paint = (pixel: number) => {
      if (canvas.strokeMark[pixel] === stroke) return; // fan triangles share edges
      canvas.strokeMark[pixel] = stroke;
      blend(canvas, pixel, colour[0], colour[1], colour[2], alpha);
    };
    for (let k = 0; k < screen.length; k++) {
      fillTriangle(canvas, c, screen[k]!, screen[(k + 1) % screen.length]!, { depth: 'test', tolerance, stencilWrite: stencil?.write, stencilTest: stencil?.test }, paint);
    }
  };
  const ribbon = (path: Vector3[], widths: number[] | number, colour: Rgb, alpha: number) => {
    const screen = path.map((p) => toScreen(...p));
    const left: ScreenPoint[] = [], right: ScreenPoint[] = [];
    screen.forEach((p, k) => {
      const prev = screen[Math.max(0, k - 1)]!, next = screen[Math.min(screen.length - 1, k + 1)]!;
      let dx = next[0] - prev[0], dy = next[1] - prev[1];
      const length = Math.hypot(dx, dy) || 1; dx /= length; dy /= length;
      const half = (Array.isArray(widths) ? widths[k]! : widths) * pixelsPerUnit / 2;
      const width = Math.max(half, 0.6);
      left.push([p[0] - dy * width, p[1] + dx * width, p[2]]); right.push([p[0] + dy * width, p[1] - dx * width, p[2]]);
    });
    // Each pixel is painted once per ribbon so overlapping quads do not double the alpha.
    const stroke = canvas.nextStroke++;
    const paint = (pixel: number) => {
      if (canvas.strokeMark[pixel] === stroke) return;
      canvas.strokeMark[pixel] = stroke;
      blend(canvas, pixel, colour[0], colour[1], colour[2], alpha);
    };
    for (let k = 0; k + 1 < screen.length; k++) {
      fillTriangle(canvas, left[k]!, right[k]!, left[k + 1]!, { depth: 'test', tolerance }, paint);
      fillTriangle(canvas, right[k]!, right[k + 1]!, left[k + 1]!, { depth: 'test', tolerance }, paint);
    }
  };
  const crease = (path: Vector3[], width: number, strength: number) => {
    if (strength > 0.02) ribbon(path, width, lit(id.skin, 0.55), clamp(strength, 0, 1) * 0.65);
  };

  // Wrinkles first, so eyes and brows paint over their ends.
  for (const side of [-1, 1] as const) {
    const outer = landmark(side < 0 ? 36 : 45);
    for (const tilt of [-0.45, 0, 0.45]) {
      const start = outer[0] + side * 0.035, y0 = outer[1] + tilt * 0.02;
      const path = [0, 0.5, 1].map((t) => onSkin(start + side * 0.09 * t, y0 + tilt * 0.09 * t + 0.01 * Math.sin(Math.PI * t)));
      crease(path, 0.011, f.temporalWrinkles);
    }
    const lower = (side < 0 ? [36, 41, 40, 39] : [45, 46, 47, 42]).map(landmark);
    for (const [offset, weight] of [[0.05, 1], [0.09, 0.7]] as const) {
      crease(lower.slice(0, 4).map((p, k) => onSkin(p[0] + side * 0.01, p[1] - offset - 0.01 * Math.sin((Math.PI * k) / 3))).slice(0, 4), 0.01, f.underEyeWrinkles * weight);
    }
    // Nasolabial fold from the nose wing toward the mouth corner.
    const wing = landmark(side < 0 ? 31 : 35), corner = landmark(side < 0 ? 48 : 54);
    const fold = [0, 0.5, 1].map((t) => onSkin(wing[0] + side * (0.05 + 0.06 * Math.sin(Math.PI * t)) + (corner[0] - wing[0]) * t * 0.9, wing[1] + 0.03 + (corner[1] - wing[1] - 0.04) * t));
    crease(fold, 0.014, 0.15 + 0.45 * Math.max(0, f.mouthCorners) + 0.35 * f.upperLipRaise);
  }
  const bridgeTop = landmark(28), bridgeLow = landmark(29);
  for (let k = 0; k < 3; k++) {
    const y = bridgeTop[1] + (bridgeLow[1] - bridgeTop[1]) * (0.1 + 0.3 * k);
    const z = bridgeTop[2] + (bridgeLow[2] - bridgeTop[2]) * (0.1 + 0.3 * k);
    crease([[-0.07, y - 0.015, z - 0.06], [0, y + 0.01, z + 0.005], [0.07, y - 0.015, z - 0.06]], 0.01, f.nasalWrinkles);
  }
  const browTop = Math.max(points[3 * 19 + 1]!, points[3 * 24 + 1]!);
  for (let k = 0; k < 3; k++) {
    const y = browTop + 0.1 + 0.07 * k;
    crease([-0.3, -0.1, 0.1, 0.3].map((x) => onSkin(x, y + 0.02 * Math.cos(x * 3))), 0.01, Math.max(0, f.browRaise) * 0.7);
  }
  for (const side of [-1, 1]) {
    const x = side * 0.03;
    crease([onSkin(x, points[3 * 21 + 1]! + 0.05), onSkin(x * 1.3, points[3 * 21 + 1]! - 0.04)], 0.011, Math.max(0, -f.browDistance) * 0.9);
  }

  // Eyes: sclera (stencil), iris and pupil clipped to it, lash line, lid crease.
  for (const [side, start] of [[-1, 36], [1, 42]] as const) {
    const eye = [0, 1, 2, 3, 4, 5].map((k) => landmark(start + k));
    const outline = smoothCurve(eye, true, 4).map((p): Vector3 => [p[0], p[1], p[2] + 0.01]);
    const stencilId = side < 0 ? 1 : 2;
    polygon(outline, lit([236, 232, 226], 0.92), 1, { write: stencilId });
    const centreX = eye.reduce((s, p) => s + p[0], 0) / 6 + scene.gaze[0], centreY = eye.reduce((s, p) => s + p[1], 0) / 6 + scene.gaze[1];
    const radius = id.eyeHalfWidth * 0.48;
    const disc = (r: number, dx = 0, dy = 0) => Array.from({ length: 20 }, (_, k): Vector3 => {
      const a = (2 * Math.PI * k) / 20;
      const x = centreX + dx + r * Math.cos(a), y = centreY + dy + r * Math.sin(a);
      return [x, y, surfaceDepth(id, x, y) + 0.025];
    });
    polygon(disc(radius), lit(id.iris), 1, { test: stencilId });
    polygon(disc(radius * 0.45), [18, 14, 14], 1, { test: stencilId });
    polygon(disc(radius * 0.18, radius * 0.3, radius * 0.3), [250, 250, 250], 0.85, { test: stencilId });
    const upper = smoothCurve(eye.slice(0, 4), false, 4);
    ribbon(upper.map((p): Vector3 => [p[0], p[1], p[2] + 0.02]), upper.map((_, k) => 0.012 + 0.012 * Math.sin((Math.PI * k) / (upper.length - 1))), [28, 20, 20], 0.95);
    const lower = smoothCurve([eye[3]!, eye[4]!, eye[5]!, eye[0]!], false, 4);
    ribbon(lower.map((p): Vector3 => [p[0], p[1], p[2] + 0.02]), 0.007, lit(id.skin, 0.55), 0.6);
    const lid = upper.map((p, k): Vector3 => onSkin(p[0], p[1] + 0.045 * Math.sin((Math.PI * k) / (upper.length - 1)) + 0.012));
    ribbon(lid, 0.008, lit(id.skin, 0.62), 0.5);
  }
  for (let i = 0; i < canvas.stencil.length; i++) canvas.stencil[i] = 0;

  // Brows: a band thicker at the inner end, in a darkened hair colour.
  const browColour: Rgb = [id.hair[0] * 0.7 * faceLight, id.hair[1] * 0.7 * faceLight, id.hair[2] * 0.7 * faceLight];
  for (const start of [17, 22]) {
    const brow = [0, 1, 2, 3, 4].map((k) => landmark(start + k));
    const path = smoothCurve(brow, false, 3);
    const innerAtEnd = start === 17; // 17–21 run outer → inner, 22–26 inner → outer
    const widths = path.map((_, k) => { const t = k / (path.length - 1); return id.browThickness * (0.55 + 0.6 * (innerAtEnd ? t : 1 - t)); });
    ribbon(path, widths, browColour, 0.9);
  }

  // Nostrils.
  for (const [a, b] of [[31, 32], [35, 34]] as const) {
    const pa = landmark(a), pb = landmark(b);
    const cx = (pa[0] * 0.6 + pb[0] * 0.4), cy = (pa[1] + pb[1]) / 2 + 0.012, cz = (pa[2] + pb[2]) / 2;
    polygon(Array.from({ length: 12 }, (_, k): Vector3 => [cx + 0.032 * Math.cos((2 * Math.PI * k) / 12), cy + 0.014 * Math.sin((2 * Math.PI * k) / 12), cz]), lit([70, 40, 38]), 0.75);
  }

  // Mouth: lips, then the open mouth's dark interior and upper teeth, then the lip line.
  const outer = smoothCurve([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59].map(landmark), true, 3);
  polygon(outer, lit(id.lips), 0.9);
  const lowerLip = smoothCurve([54, 55, 56, 57, 58, 59, 48].map(landmark), false, 3);
  ribbon(lowerLip.slice(2, -2).map((p, k, all): Vector3 => [p[0], p[1] + 0.015 * Math.sin((Math.PI * k) / (all.length - 1)) + 0.012, p[2] + 0.01]), 0.018, lit(id.lips, 1.15), 0.35);
  const inner = [60, 61, 62, 63, 64, 65, 66, 67].map(landmark);
  const opening = points[3 * 62 + 1]! - points[3 * 66 + 1]!;
  if (opening > 0.02) {
    const loop = smoothCurve(inner, true, 3);
    polygon(loop, [52, 22, 26], 1, { write: 3 });
    const upper = smoothCurve(inner.slice(0, 5), false, 3);
    const teeth = [...upper.map((p): Vector3 => [p[0], p[1] + 0.01, p[2]]), ...upper.slice().reverse().map((p): Vector3 => [p[0] * 0.9, p[1] - Math.min(0.05, opening * 0.45), p[2]])];
    polygon(teeth, lit([226, 222, 208]), 1, { test: 3 });
    for (let i = 0; i < canvas.stencil.length; i++) canvas.stencil[i] = 0;
  } else {
    const line = smoothCurve(inner.slice(0, 5), false, 3);
    ribbon(line.map((p): Vector3 => [p[0], p[1], p[2] + 0.02]), 0.012, lit(id.lips, 0.45), 0.85);
  }
}

function downsample(canvas: Canvas, factor: number, noise: number, random: Random): ImageU8 {
  const size = canvas.width / factor;
  const image = createImage(size, size, 3);
  const weight = 1 / (factor * factor);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0;
      for (let dy = 0; dy < factor; dy++) {
        for (let dx = 0; dx < factor; dx++) {
          const i = 3 * ((y * factor + dy) * canvas.width + x * factor + dx);
          r += canvas.colour[i]!; g += canvas.colour[i + 1]!; b += canvas.colour[i + 2]!;
        }
      }
      const grain = noise > 0 ? random.normal(0, noise) : 0;
      const o = 3 * (y * size + x);
      image.data[o] = clamp(Math.round(r * weight + grain), 0, 255);
      image.data[o + 1] = clamp(Math.round(g * weight + grain), 0, 255);
      image.data[o + 2] = clamp(Math.round(b * weight + grain), 0, 255);
    }
  }
  return image;
}
