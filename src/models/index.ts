// The paper's networks: LightCNN (Fa-Net's backbone) and FaPE-GAN.
export * from './lightcnn.js';
export * from './fapegan.js';
